"""The Lua scripts that make each change of the human queue atomic (state, order and event together)."""

from __future__ import annotations

_EMIT = """
redis.call('XADD', {stream}, 'MAXLEN', '~', '1000', '*', 'event', {event})
redis.call('PUBLISH', {channel}, {event})
"""


def _emit(stream: str, channel: str, event: str) -> str:
    return _EMIT.format(stream=stream, channel=channel, event=event)


# KEYS: ticket, waiting, waiting-practices, claimed-by(holder), stream, channel
# ARGV: id, practice, score, event, waiting flag, field/value pairs...
ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[2])
else
  redis.call('SADD', KEYS[4], ARGV[1])
end
""" + _emit("KEYS[5]", "KEYS[6]", "ARGV[4]") + "return 1\n"

# KEYS: ticket, waiting, claimed-by(user), stream, channel — ARGV: id, user, now ms, event
# Returns 1 won, 2 already held by this user, 0 held by someone else or closed, -1 unknown.
CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'queued' or status == 'offered' then
  redis.call('HSET', KEYS[1], 'status', 'claimed', 'claimed_by', ARGV[2], 'claimed_ms', ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[1])
""" + _emit("KEYS[4]", "KEYS[5]", "ARGV[4]") + """
  return 1
end
if (status == 'claimed' or status == 'connected') and redis.call('HGET', KEYS[1], 'claimed_by') == ARGV[2] then
  return 2
end
return 0
"""

# KEYS: ticket, waiting, claimed-by(user), waiting-practices, stream, channel
# ARGV: id, user, new score, event, practice
REQUEUE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if (status ~= 'claimed' and status ~= 'connected') or redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'claimed_by', '', 'requeued', '1', 'score', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[5])
""" + _emit("KEYS[5]", "KEYS[6]", "ARGV[4]") + "return 1\n"

# KEYS: ticket, waiting, stream, channel
# ARGV: id, new status, allowed statuses (comma separated), required holder ('' = anyone), event,
#       terminal flag, key prefix (to find the holder's set)
# Returns 1 moved, 2 already there (idempotent), 0 refused, -1 unknown.
TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
local holder = redis.call('HGET', KEYS[1], 'claimed_by') or ''
if ARGV[4] ~= '' and holder ~= ARGV[4] then return 0 end
if status == ARGV[2] then return 2 end
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if ARGV[6] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  if holder ~= '' then redis.call('SREM', ARGV[7] .. ':claimed-by:' .. holder, ARGV[1]) end
  redis.call('EXPIRE', KEYS[1], 3600)
end
""" + _emit("KEYS[3]", "KEYS[4]", "ARGV[5]") + "return 1\n"

# KEYS: ticket, waiting, stream, channel — ARGV: id, new score, event
SLA_BUMP = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
if redis.call('HGET', KEYS[1], 'sla_breached') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'sla_breached', '1', 'score', ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
""" + _emit("KEYS[3]", "KEYS[4]", "ARGV[3]") + "return 1\n"
