-- GET scenarios (discovery, JWKS): the URL path is wrk's argument.
package.path = os.getenv("WRK_DIR") .. "/?.lua;" .. package.path
local report = require("report")
done = report.done
