-- wrk script: send `depth` requests per write (HTTP/1.1 pipelining, as in TechEmpower's plaintext test), so that the load generator spends less CPU per
-- request and leaves the cores to the server under test.  wrk counts every response.  Usage: wrk -s pipeline.lua URL -- 16
init = function(args)
   local depth = tonumber(args[1]) or 8
   local batch = {}
   for i = 1, depth do batch[i] = wrk.format(nil) end
   pipelined = table.concat(batch)
end

request = function()
   return pipelined
end
