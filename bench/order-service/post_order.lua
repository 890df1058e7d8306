-- wrk script: POST /orders with a fixed two-line order, as the gateway would
-- forward it (identity headers set). DELAY_MS (env) paces each connection:
-- wrk's delay() hook, used to hold a rate of about CONNS * 1000 / DELAY_MS.
wrk.method = "POST"
wrk.path = "/orders"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Customer-Email"] = "bench@example.com"
wrk.body = '{"items":[{"sku":"SKU-1","quantity":2,"unit_price":"49.99"},' ..
           '{"sku":"B-2","quantity":1,"unit_price":"5.00"}],"currency":"EUR"}'

local pace = tonumber(os.getenv("DELAY_MS") or "0")
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  wrk.headers["X-Customer-Id"] = "bench-" .. id
  req = wrk.format()
end

function request()
  return req
end

if pace > 0 then
  function delay()
    return pace
  end
end

local errors = 0
function response(status, headers, body)
  if status ~= 201 then
    errors = errors + 1
    if errors <= 3 then
      io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    end
  end
end
