-- wrk -s post.lua: every request POSTs the JSON in the environment variable BODY.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
