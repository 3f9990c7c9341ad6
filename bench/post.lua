-- wrk: POST a small body (nginx retries a failed GET on another connection, never a POST).
wrk.method = "POST"
wrk.body = "payload"
wrk.headers["Content-Type"] = "text/plain"
