# dev.hcl: the same node as `lkv agent --dev`, written out as a file.
#
#   lkv agent --config configs/dev.hcl
#
# One node on loopback that owns all 16384 slots. With dev = true and no
# data_dir, the data lives in a fresh temporary directory that is removed
# when the agent exits, and sync defaults to "none": nothing here survives,
# so do not keep anything you need in it.
#
# Every option can also be given as a flag (--http-port 7372) or as an
# LKV_* environment variable (LKV_HTTP_PORT=7372); flags override this
# file and environment variables override both.

dev = true

# Loopback only: nothing outside this machine can reach a dev node.
bind = "127.0.0.1"

# Client protocol port (lkv put/get/exec and the Go client).
port = 7370

# HTTP: /metrics (Prometheus), /v1/status (JSON) and a status page at /.
http_port = 7372

# Text logs at info; "debug" shows every connection.
log_level = "info"
log_json  = false
