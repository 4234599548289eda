# single.hcl: one real, durable node.
#
#   lkv agent --config configs/single.hcl
#
# Values are sizes (4096, 64KiB, 256MiB, 1GB: KiB/MiB/GiB and K/M/G are
# powers of 1024, KB/MB/GB powers of 1000) or durations (30s, 1m30s).
# Flags override this file; LKV_* environment variables (LKV_DATA_DIR,
# LKV_TOKEN, ...) override flags. `lkv agent --help` lists them all.

# A stable name for the node. If left out, a random id is made on the first
# start and kept in data_dir, so it survives restarts anyway.
node_id = "node-1"

# Required (unless dev = true): the store file (lkv.db) and the node id live
# here. A relative path is relative to the agent's working directory.
data_dir = "/var/lib/lkv"

# Listen on every interface; clients are told the advertise address.
bind      = "0.0.0.0"
# advertise = "10.0.0.5"

port      = 7370 # client protocol
http_port = 7372 # /metrics, /v1/status, status page; -1 disables HTTP

# Clients must present this token in their hello (lkv --token, LKV_TOKEN).
# Prefer LKV_TOKEN in the environment over a token written in a file.
token = "change-me"

# TLS on the client port: both files PEM. Clients then use
# `lkv --tls --ca ca.pem ...` to verify the node.
# tls_cert = "/etc/lkv/node.pem"
# tls_key  = "/etc/lkv/node-key.pem"

# "always": an acknowledged put has been fsynced and survives a crash of the
# machine (concurrent puts share one fsync). "none": faster, for scratch
# data only.
sync = "always"

# The largest value a put may store.
max_value_size = "256MiB"

# Lambdas: how many run at once (default: one per CPU; 0 runs none and the
# node only stores) and how many may wait, their inputs being fetched, before
# the node answers BUSY (default: 2 × executors).
executors = 2
pipeline  = 4

# Where lambdas' working directories and the binary cache go (absolute).
# Default: a directory the node creates and removes.
# jail_dir = "/var/lib/lkv-jail"

# Limits of one lambda run when the request asks for none. Any violation
# kills the run and the client gets EXEC_FAILED with the reason.
limits {
  wall       = "30s"    # wall-clock time ("timeout 30s")
  cpu        = "10s"    # CPU time ("cpu limit")
  memory     = "512MiB" # memory ("memory limit")
  procs      = 64       # processes and threads ("process limit")
  file_size  = "256MiB" # the largest file it may write
  open_files = 64
  stdout     = "64MiB"  # output read back ("output limit")
}

# The most a request may ask for (exec --timeout 5m would be capped at 2m).
# A field left out is the default above: requests may only lower it.
max_limits {
  wall = "2m"
  cpu  = "60s"
}

log_level = "info"
log_json  = true # one JSON object per line, for a log collector

# Cluster options (see configs/lab/ and docs/operations.md): a node with
# join set joins that cluster; replicas = 1 with role = "auto" makes joining
# nodes replicas of masters that lack one.
# cluster     = "prod"
# gossip_port = 7371
# join        = ["10.0.0.1:7371"]
# encrypt     = "base64 of 32 random bytes: head -c 32 /dev/urandom | base64"
# role        = "auto"
# replicas    = 1
# cache_bytes = "256MiB"
