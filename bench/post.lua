-- POST /echo with a small JSON body, the same for every server.
wrk.method = "POST"
wrk.body = '{"name":"wrk","items":[1,2,3],"nested":{"ok":true,"ratio":0.5}}'
wrk.headers["Content-Type"] = "application/json"
