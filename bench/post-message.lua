-- wrk: POST a guestbook message (JSON), and count the answers by status (printed as `status CODE COUNT`),
-- so that a run with the database taken away shows how many were written (201) and refused (503).
wrk.method = "POST"
wrk.body = '{"author":"wrk","body":"a guestbook message, written under load"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() statuses = {} end
function response(status) statuses[status] = (statuses[status] or 0) + 1 end
function done()
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do io.write(string.format("status %d %d\n", status, count)) end
  end
end
