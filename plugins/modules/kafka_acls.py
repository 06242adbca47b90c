#!/usr/bin/python
"""Ansible module: Kafka ACLs declared, created through the Kafka admin API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_acls
short_description: Create the declared Kafka ACLs (allow rules) that are missing
description:
  - Talks to the brokers with the Kafka admin API (kafka-python's KafkaAdminClient).
    It describes every ACL and creates the declared ones that are missing. ACLs that are
    not declared (made by hand) are kept.
  - Needs a cluster with an authorizer (the secure profile's AclAuthorizer) and a super
    user's credentials in client_options.
  - Supports check mode and diff.
options:
  bootstrap_servers:
    description: Comma-separated host:port list of brokers.
    type: str
    required: true
  acls:
    description: The declared ACLs.
    type: list
    elements: dict
    required: true
    suboptions:
      principal:
        description: "Principal, e.g. User:alice."
        type: str
        required: true
      resource_type:
        description: Resource type.
        type: str
        required: true
        choices: [topic, group, cluster, transactional_id]
      name:
        description: "Resource name; * is every resource of the type (cluster: kafka-cluster)."
        type: str
        default: "*"
      pattern:
        description: How name matches.
        type: str
        default: literal
        choices: [literal, prefixed]
      operations:
        description: Operations allowed (Read, Write, Describe, Create, All, ...).
        type: list
        elements: str
        required: true
      host:
        description: Client address the rule applies to (* is any).
        type: str
        default: "*"
  client_options:
    description: More KafkaAdminClient settings (security_protocol, sasl_*, ssl_cafile).
    type: dict
    default: {}
  timeout_ms:
    description: Admin request timeout.
    type: int
    default: 30000
requirements:
  - kafka-python >= 2.0 on the host that runs the module
author: streamstack maintainers (@streamstack)
"""

EXAMPLES = r"""
- name: Kafka | ACLs
  kafka_acls:
    bootstrap_servers: hadoop-master:19092
    acls:
      - {principal: "User:jobs", resource_type: topic, name: "*", operations: [Read, Describe]}
    client_options:
      security_protocol: SASL_SSL
      sasl_mechanism: SCRAM-SHA-512
      sasl_plain_username: admin
      sasl_plain_password: "{{ password }}"
      ssl_cafile: /etc/kafka/tls/ca.crt
"""

RETURN = r"""
created:
  description: "The ACLs created, each as principal resource_type:pattern:name operation host."
  type: list
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

# Operation names as kafka-acls.sh writes them, to kafka-python's enum names.
OPERATIONS = {"all": "ALL", "read": "READ", "write": "WRITE", "create": "CREATE",
              "delete": "DELETE", "alter": "ALTER", "describe": "DESCRIBE",
              "clusteraction": "CLUSTER_ACTION", "describeconfigs": "DESCRIBE_CONFIGS",
              "alterconfigs": "ALTER_CONFIGS", "idempotentwrite": "IDEMPOTENT_WRITE"}


def wanted_rules(acls: list[dict]) -> list[tuple]:
    """Each declared ACL as (principal, host, OPERATION, RESOURCE_TYPE, name, PATTERN),
    one per operation, in declared order without duplicates. Raises ValueError on an
    unknown operation."""
    out: list[tuple] = []
    for acl in acls:
        for operation in acl["operations"]:
            key = operation.replace("_", "").replace("-", "").lower()
            if key not in OPERATIONS:
                raise ValueError(f"ACL of {acl['principal']}: unknown operation {operation} "
                                 f"(one of {', '.join(sorted(OPERATIONS))})")
            resource_type = acl["resource_type"].upper()
            name = "kafka-cluster" if resource_type == "CLUSTER" else acl.get("name", "*")
            rule = (acl["principal"], acl.get("host", "*"), OPERATIONS[key], resource_type,
                    name, acl.get("pattern", "literal").upper())
            if rule not in out:
                out.append(rule)
    return out


def missing_rules(wanted: list[tuple], existing: set[tuple]) -> list[tuple]:
    return [rule for rule in wanted if rule not in existing]


def show(rule: tuple) -> str:
    principal, host, operation, resource_type, name, pattern = rule
    return f"{principal} {resource_type.lower()}:{pattern.lower()}:{name} {operation} {host}"


def _existing(admin) -> set[tuple]:
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    acls, error = admin.describe_acls(ACLFilter(
        principal=None, host="*", operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                               ACLResourcePatternType.ANY)))
    if error.errno != 0:
        raise error(f"describing ACLs: {error}")
    return {(a.principal, a.host, a.operation.name, a.resource_pattern.resource_type.name,
             a.resource_pattern.resource_name, a.resource_pattern.pattern_type.name)
            for a in acls if a.permission_type == ACLPermissionType.ALLOW}


def _create(admin, rules: list[tuple]) -> None:
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    result = admin.create_acls([
        ACL(principal=principal, host=host, operation=ACLOperation[operation],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(ResourceType[resource_type], name,
                                             ACLResourcePatternType[pattern]))
        for principal, host, operation, resource_type, name, pattern in rules])
    if result["failed"]:
        raise RuntimeError(f"creating ACLs failed: {result['failed']}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "bootstrap_servers": {"type": "str", "required": True},
            "acls": {"type": "list", "elements": "dict", "required": True, "options": {
                "principal": {"type": "str", "required": True},
                "resource_type": {"type": "str", "required": True,
                                  "choices": ["topic", "group", "cluster", "transactional_id"]},
                "name": {"type": "str", "default": "*"},
                "pattern": {"type": "str", "default": "literal",
                            "choices": ["literal", "prefixed"]},
                "operations": {"type": "list", "elements": "str", "required": True},
                "host": {"type": "str", "default": "*"},
            }},
            "client_options": {"type": "dict", "default": {}, "no_log": True},
            "timeout_ms": {"type": "int", "default": 30000},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        wanted = wanted_rules(params["acls"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        from kafka import KafkaAdminClient
    except ImportError:
        if module.check_mode:
            module.exit_json(changed=bool(wanted), created=[show(r) for r in wanted],
                             msg="kafka-python is not installed yet: every ACL would be created")
        module.fail_json(msg="kafka-python is not installed on this host (the kafka role "
                             "installs it on its first host)")
    try:
        admin = KafkaAdminClient(bootstrap_servers=params["bootstrap_servers"].split(","),
                                 client_id="streamstack-kafka-acls",
                                 request_timeout_ms=params["timeout_ms"],
                                 **params["client_options"])
    except Exception as exc:  # NoBrokersAvailable, authentication failures
        if module.check_mode:
            module.exit_json(changed=bool(wanted), created=[show(r) for r in wanted],
                             msg=f"no broker answers yet ({exc}): every ACL would be created")
        module.fail_json(msg=f"no broker of {params['bootstrap_servers']} answers: {exc}")
    try:
        todo = missing_rules(wanted, _existing(admin))
        if todo and not module.check_mode:
            _create(admin, todo)
    except Exception as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}")
    finally:
        admin.close()
    result = {"changed": bool(todo), "created": [show(r) for r in todo]}
    if module._diff:
        result["diff"] = {"before": "", "after": "".join(show(r) + "\n" for r in todo)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
