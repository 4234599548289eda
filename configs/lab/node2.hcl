# lab/node2.hcl: node 2 of a three-node lab on one machine.
#
#   lkv agent --config configs/lab/node1.hcl &
#   lkv agent --config configs/lab/node2.hcl &
#   lkv agent --config configs/lab/node3.hcl &
#   lkv --addr 127.0.0.1:7370 cluster nodes
#
# Each node has its own ports and data directory (relative to where the
# agent is started). node1 starts the cluster; node2 and node3 join it by
# pointing at node1's gossip port, but any running node would do.
#
# The three form one cluster: the coordinator spreads the slots over them
# and moves the data as they join.

node_id  = "node-2"
data_dir = "lab-data/node2"
bind     = "127.0.0.1"

port        = 7380 # client
gossip_port = 7381 # gossip (membership)
http_port   = 7382 # HTTP: /metrics, /v1/status

# Join the cluster through node1's gossip port.
join = ["127.0.0.1:7371"]

# The name all three share; nodes with another name never merge with them.
cluster = "lab"

# Every node may master slots. With replicas = 1 (set it on every node),
# --role auto makes a joining node a replica of a master that has none:
# node2 would follow node1, and node3 would become a second master. A
# replica takes over its master's slots if the master dies (failover), but
# a majority of the masters must see it dead: plan three masters or more
# for failover to work.
role     = "auto"
replicas = 0

# Gossip encryption: the same key on every node (base64 of 16, 24 or 32
# bytes). This one is for the lab only.
encrypt = "bGFiLWtleS1sYWIta2V5LWxhYi1rZXktbGFiLWtleSE="

# Scratch data: fast writes, nothing survives a machine crash.
sync = "none"

# Two lambdas at a time per node, four more may wait.
executors = 2
pipeline  = 4

# Immutable values fetched from the other nodes are cached up to this much.
cache_bytes = "64MiB"

log_level = "info"
