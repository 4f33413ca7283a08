-- POST /token with grant_type=client_credentials and client_secret_basic.
-- BASIC = base64(client_id:client_secret) from the environment.
package.path = os.getenv("WRK_DIR") .. "/?.lua;" .. package.path
local report = require("report")
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
done = report.done
