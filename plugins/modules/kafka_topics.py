#!/usr/bin/python
"""Ansible module: Kafka topics declared, reconciled through the Kafka admin API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_topics
short_description: Create Kafka topics, grow their partitions and reconcile their configs
description:
  - Talks to the brokers with the Kafka admin API (kafka-python's KafkaAdminClient), not
    by parsing C(kafka-topics.sh) output.
  - Creates missing topics, adds partitions to topics that declare more, and sets the
    declared topic configs (overrides not declared are kept).
  - Refuses, before changing anything, a topic that would shrink or change its replication
    factor (that needs C(kafka-reassign-partitions.sh)).
  - Supports check mode. In check mode a cluster that does not answer yet (a fresh host)
    is reported as every topic to be created.
options:
  bootstrap_servers:
    description: Comma-separated host:port list of brokers.
    type: str
    required: true
  topics:
    description: The declared topics.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Topic name.
        type: str
        required: true
      partitions:
        description: Partition count (only ever grows).
        type: int
        default: 1
      replication_factor:
        description: Replication factor of a new topic; an existing one must match.
        type: int
        default: 1
      configs:
        description: Topic configs, key to value (compared as strings).
        type: dict
        default: {}
  timeout_ms:
    description: Admin request timeout.
    type: int
    default: 30000
  client_options:
    description:
      - More KafkaAdminClient settings, e.g. the secure profile's security_protocol,
        sasl_mechanism, sasl_plain_username, sasl_plain_password, ssl_cafile.
    type: dict
    default: {}
requirements:
  - kafka-python >= 2.0 on the host that runs the module
author: streamstack maintainers (@streamstack)
"""

EXAMPLES = r"""
- name: Kafka | Topics
  kafka_topics:
    bootstrap_servers: hadoop-master:19092
    topics:
      - {name: events, partitions: 12, replication_factor: 3,
         configs: {min.insync.replicas: "2"}}
"""

RETURN = r"""
created:
  description: Topics created.
  type: list
  returned: always
partitions:
  description: "Topics whose partition count grew: name to {before, after}."
  type: dict
  returned: always
configs:
  description: "Topics whose configs changed: name to {key: {before, after}}."
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

# DescribeConfigs v1+ config_source: a config set on the topic itself.
_TOPIC_OVERRIDE = 1


def plan(wanted: list[dict], current: dict[str, dict]) -> dict:
    """What to do, from the declared topics and the cluster's {name: {partitions,
    replication, configs}} (configs = the topic's own overrides). Errors name the topic
    and the fix; nothing is applied when there is one."""
    out = {"create": [], "grow": {}, "configs": {}, "errors": []}
    for topic in wanted:
        name = topic["name"]
        configs = {k: str(v) for k, v in (topic.get("configs") or {}).items()}
        partitions = int(topic.get("partitions", 1))
        replication = int(topic.get("replication_factor", 1))
        have = current.get(name)
        if have is None:
            out["create"].append({"name": name, "partitions": partitions,
                                  "replication_factor": replication, "configs": configs})
            continue
        if partitions < have["partitions"]:
            out["errors"].append(
                f"topic {name}: has {have['partitions']} partitions, the inventory asks for "
                f"{partitions}; partitions can only grow (set partitions: {have['partitions']} "
                "or more)")
        if replication != have["replication"]:
            out["errors"].append(
                f"topic {name}: replication factor is {have['replication']}, the inventory "
                f"asks for {replication}; changing it needs kafka-reassign-partitions.sh "
                f"(or declare replication: {have['replication']})")
        if partitions > have["partitions"]:
            out["grow"][name] = {"before": have["partitions"], "after": partitions}
        drift = {k: {"before": have["configs"].get(k), "after": v} for k, v in configs.items()
                 if have["configs"].get(k) != v}
        if drift:
            out["configs"][name] = drift
    return out


def _describe(admin, names: list[str]) -> dict[str, dict]:
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import for_code

    current = {}
    for meta in admin.describe_topics(names):
        error = for_code(meta["error_code"])
        if error.errno == 3:  # UNKNOWN_TOPIC_OR_PARTITION: not created yet
            continue
        if error.errno != 0:
            raise error(f"describing topic {meta['topic']}")
        partitions = meta["partitions"]
        replication = max((len(p["replicas"]) for p in partitions), default=0)
        current[meta["topic"]] = {"partitions": len(partitions), "replication": replication,
                                  "configs": {}}
    if current:
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in current]
        for response in admin.describe_configs(resources):
            for error_code, message, _type, name, entries in response.resources:
                if error_code:
                    raise for_code(error_code)(f"describing configs of {name}: {message}")
                current[name]["configs"] = {entry[0]: entry[1] for entry in entries
                                            if entry[3] == _TOPIC_OVERRIDE}
    return current


def _apply(admin, todo: dict, current: dict, timeout_ms: int) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import for_code

    if todo["create"]:
        admin.create_topics([NewTopic(t["name"], t["partitions"], t["replication_factor"],
                                      topic_configs=t["configs"]) for t in todo["create"]],
                            timeout_ms=timeout_ms)
    if todo["grow"]:
        admin.create_partitions({n: NewPartitions(g["after"]) for n, g in todo["grow"].items()},
                                timeout_ms=timeout_ms)
    if todo["configs"]:
        # AlterConfigs replaces a topic's whole set of overrides: send the ones it has
        # plus the declared ones, so an override set by hand is kept.
        resources = []
        for name, drift in todo["configs"].items():
            merged = dict(current[name]["configs"])
            merged.update({k: v["after"] for k, v in drift.items()})
            resources.append(ConfigResource(ConfigResourceType.TOPIC, name, configs=merged))
        response = admin.alter_configs(resources)
        for error_code, message, _type, name in response.resources:
            if error_code:
                raise for_code(error_code)(f"altering configs of {name}: {message}")


def _diff(todo: dict) -> dict:
    before, after = [], []
    for t in todo["create"]:
        after.append(f"{t['name']}: created, {t['partitions']} partitions, replication "
                     f"{t['replication_factor']}, configs {t['configs']}\n")
    for name, g in todo["grow"].items():
        before.append(f"{name}: {g['before']} partitions\n")
        after.append(f"{name}: {g['after']} partitions\n")
    for name, drift in todo["configs"].items():
        for key, values in drift.items():
            before.append(f"{name}: {key}={values['before']}\n")
            after.append(f"{name}: {key}={values['after']}\n")
    return {"before": "".join(before), "after": "".join(after)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "bootstrap_servers": {"type": "str", "required": True},
            "topics": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "partitions": {"type": "int", "default": 1},
                "replication_factor": {"type": "int", "default": 1},
                "configs": {"type": "dict", "default": {}},
            }},
            "timeout_ms": {"type": "int", "default": 30000},
            "client_options": {"type": "dict", "default": {}, "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    wanted = params["topics"]
    try:
        from kafka import KafkaAdminClient
    except ImportError:
        if module.check_mode:
            todo = plan(wanted, {})
            module.exit_json(changed=bool(wanted), created=[t["name"] for t in todo["create"]],
                             partitions={}, configs={}, diff=_diff(todo),
                             msg="kafka-python is not installed yet: every topic would be created")
        module.fail_json(msg="kafka-python is not installed on this host (the kafka role "
                             "installs it on its first host)")
    try:
        admin = KafkaAdminClient(bootstrap_servers=params["bootstrap_servers"].split(","),
                                 client_id="streamstack-kafka-topics",
                                 request_timeout_ms=params["timeout_ms"],
                                 **params["client_options"])
    except Exception as exc:  # NoBrokersAvailable and friends: nothing answers
        if module.check_mode:
            todo = plan(wanted, {})
            module.exit_json(changed=bool(wanted), created=[t["name"] for t in todo["create"]],
                             partitions={}, configs={}, diff=_diff(todo),
                             msg=f"no broker answers yet ({exc}): every topic would be created")
        module.fail_json(msg=f"no broker of {params['bootstrap_servers']} answers: {exc}")
    try:
        current = _describe(admin, [t["name"] for t in wanted])
        todo = plan(wanted, current)
        if todo["errors"]:
            module.fail_json(msg="; ".join(todo["errors"]), errors=todo["errors"])
        changed = bool(todo["create"] or todo["grow"] or todo["configs"])
        if changed and not module.check_mode:
            _apply(admin, todo, current, params["timeout_ms"])
    except Exception as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}")
    finally:
        admin.close()
    result = {"changed": changed, "created": [t["name"] for t in todo["create"]],
              "partitions": todo["grow"], "configs": todo["configs"]}
    if module._diff:
        result["diff"] = _diff(todo)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
