"""Filters of the kafka role: broker nodes, KRaft voters, forwarded ports, topics.

What roles/kafka/vars/main.yml and tasks/topics.yml used to compute in Jinja loops, as
plain functions with unit tests (tests/unit/test_filters.py). ansible.cfg's
filter_plugins (and molecule's ANSIBLE_FILTER_PLUGINS) point here.
"""

from __future__ import annotations


def _dedicated(mode: str, controller_hosts: list) -> bool:
    """KRaft with controllers of their own (a kafka_controller group) rather than
    combined broker,controller nodes."""
    return mode == "kraft" and len(controller_hosts) > 0


def _controller_id(host: str, controller_hosts: list, base, hostvars) -> int:
    """A dedicated controller's node.id: kafka_kraft_controller_id on the host when set
    (stable whatever the inventory order), else base + its position in the group."""
    explicit = (hostvars or {}).get(host, {}).get("kafka_kraft_controller_id")
    if explicit not in (None, ""):
        return int(explicit)
    return int(base) + controller_hosts.index(host)


def kafka_local_nodes(brokers, *, host: str, kafka_hosts, mode: str, controller_hosts,
                      controller_id_base, controller_port, controller_port_offset,
                      internal_port_offset, data_dir: str, hostvars=None) -> list[dict]:
    """Every Kafka node (broker or controller) of `host`: id, roles, ports, log dir."""
    controller_hosts = list(controller_hosts or [])
    dedicated = _dedicated(mode, controller_hosts)
    nodes = []
    if host in (kafka_hosts or []):
        for broker in brokers or []:
            port = int(broker["port"])
            combined = mode == "kraft" and not dedicated
            nodes.append({
                "id": int(broker["id"]),
                "port": port,
                "internal_port": port + int(internal_port_offset),
                "controller_port": port + int(controller_port_offset) if combined else None,
                "roles": ("broker" if dedicated else "broker,controller")
                if mode == "kraft" else "broker",
                "log_dir": f"{data_dir}/broker-{broker['id']}",
            })
    if dedicated and host in controller_hosts:
        node_id = _controller_id(host, controller_hosts, controller_id_base, hostvars)
        nodes.append({"id": node_id, "port": None, "internal_port": None,
                      "controller_port": int(controller_port), "roles": "controller",
                      "log_dir": f"{data_dir}/controller-{node_id}"})
    return nodes


def kafka_quorum_voters(brokers_all, *, mode: str, controller_hosts, controller_id_base,
                        controller_port, controller_port_offset, hostvars=None) -> str:
    """controller.quorum.voters: id@host:port of every controller, comma-separated."""
    controller_hosts = list(controller_hosts or [])
    if _dedicated(mode, controller_hosts):
        voters = [f"{_controller_id(h, controller_hosts, controller_id_base, hostvars)}"
                  f"@{h}:{controller_port}" for h in controller_hosts]
    else:
        voters = [f"{b['id']}@{b['host']}:{int(b['port']) + int(controller_port_offset)}"
                  for b in brokers_all or []]
    return ",".join(voters)


def kafka_forwarded_ports(brokers_all, *, host: str, local_brokers, enabled=True) -> list[dict]:
    """External ports of brokers on other hosts, forwarded from localhost on `host`
    ([{port, host}]); a port a local broker uses is never forwarded."""
    if not enabled:
        return []
    local_ports = {int(b["port"]) for b in local_brokers or []}
    return [{"port": int(b["port"]), "host": b["host"]} for b in brokers_all or []
            if b["host"] != host and int(b["port"]) not in local_ports]


def kafka_topics_wanted(topics, *, default_replication, derived_min_insync) -> list[dict]:
    """The declared topics as the kafka_topics module takes them. min.insync.replicas
    defaults to the cluster's derived value, but never above RF - 1 (one replica may be
    down); a topic's own configs come on top."""
    out = []
    for topic in topics or []:
        rf = int(topic.get("replication", default_replication))
        min_isr = topic.get("min_insync_replicas", min(int(derived_min_insync), max(rf - 1, 1)))
        configs = {"min.insync.replicas": str(int(min_isr))}
        configs.update({k: str(v) for k, v in (topic.get("configs") or {}).items()})
        out.append({"name": topic["name"], "partitions": int(topic.get("partitions", 1)),
                    "replication_factor": rf, "configs": configs})
    return out


class FilterModule:
    def filters(self):
        return {
            "kafka_local_nodes": kafka_local_nodes,
            "kafka_quorum_voters": kafka_quorum_voters,
            "kafka_forwarded_ports": kafka_forwarded_ports,
            "kafka_topics_wanted": kafka_topics_wanted,
        }
