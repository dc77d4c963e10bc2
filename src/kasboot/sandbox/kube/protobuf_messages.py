"""Protobuf schemas of the Kubernetes kinds clients send as protobuf, and the types they nest.

Field numbers follow the ``generated.proto`` files of k8s.io/api (core/v1, apps/v1) and
k8s.io/apimachinery (meta/v1, util/intstr, api/resource). Only the fields kubectl's
``create`` generators and ordinary manifests use are described; ``protobuf`` says what
happens to the rest. ``KINDS`` maps (apiVersion, kind) to the message of the object.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .protobuf import Field, Message


def _string(name: str, keep_zero: bool = False) -> Field:
    return Field(name, "string", keep_zero=keep_zero)


def _int(name: str, keep_zero: bool = False) -> Field:
    return Field(name, "int", keep_zero=keep_zero)


def _bool(name: str, keep_zero: bool = False) -> Field:
    return Field(name, "bool", keep_zero=keep_zero)


def _strings(name: str) -> Field:
    return Field(name, "string", repeated=True)


def _message(name: str, message: Message, repeated: bool = False) -> Field:
    return Field(name, "message", message=message, repeated=repeated)


def _map(name: str, value: Field) -> Field:
    return Field(name, "map", value=value)


def _string_map(name: str) -> Field:
    return _map(name, _string("value"))


# ---- k8s.io/apimachinery ----------------------------------------------------------------


def _time_json(decoded: dict[str, Any]) -> str | None:
    """metav1.Time: RFC 3339 in UTC to the second; the zero time (empty message) is null."""
    if not decoded:
        return None
    moment = datetime.fromtimestamp(decoded.get("seconds", 0), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string_json(decoded: dict[str, Any]) -> int | str:
    """intstr.IntOrString: type 1 carries strVal, type 0 (the default) intVal."""
    if decoded.get("type") == 1:
        return str(decoded.get("strVal", ""))
    return int(decoded.get("intVal", 0))


TIME = Message("Time", {1: _int("seconds"), 2: _int("nanos")}, to_json=_time_json)
INT_OR_STRING = Message(
    "IntOrString",
    {1: _int("type"), 2: _int("intVal"), 3: _string("strVal")},
    to_json=_int_or_string_json,
)
QUANTITY = Message("Quantity", {1: _string("string")}, to_json=lambda d: d.get("string", ""))

OWNER_REFERENCE = Message(
    "OwnerReference",
    {
        1: _string("kind"),
        3: _string("name"),
        4: _string("uid"),
        5: _string("apiVersion"),
        6: _bool("controller", keep_zero=True),
        7: _bool("blockOwnerDeletion", keep_zero=True),
    },
)
OBJECT_META = Message(
    "ObjectMeta",
    {
        1: _string("name"),
        2: _string("generateName"),
        3: _string("namespace"),
        4: _string("selfLink"),
        5: _string("uid"),
        6: _string("resourceVersion"),
        7: _int("generation"),
        8: _message("creationTimestamp", TIME),
        9: _message("deletionTimestamp", TIME),
        10: _int("deletionGracePeriodSeconds", keep_zero=True),
        11: _string_map("labels"),
        12: _string_map("annotations"),
        13: _message("ownerReferences", OWNER_REFERENCE, repeated=True),
        14: _strings("finalizers"),
    },
)
LABEL_SELECTOR_REQUIREMENT = Message(
    "LabelSelectorRequirement",
    {1: _string("key"), 2: _string("operator"), 3: _strings("values")},
)
LABEL_SELECTOR = Message(
    "LabelSelector",
    {
        1: _string_map("matchLabels"),
        2: _message("matchExpressions", LABEL_SELECTOR_REQUIREMENT, repeated=True),
    },
)

# ---- k8s.io/api/core/v1 -----------------------------------------------------------------

NAMESPACE = Message(
    "Namespace",
    {
        1: _message("metadata", OBJECT_META),
        2: _message("spec", Message("NamespaceSpec", {1: _strings("finalizers")})),
        3: _message("status", Message("NamespaceStatus", {1: _string("phase")})),
    },
)
SECRET = Message(
    "Secret",
    {
        1: _message("metadata", OBJECT_META),
        2: _map("data", Field("value", "bytes")),
        3: _string("type"),
        4: _string_map("stringData"),
        5: _bool("immutable", keep_zero=True),
    },
)
CONFIG_MAP = Message(
    "ConfigMap",
    {
        1: _message("metadata", OBJECT_META),
        2: _string_map("data"),
        3: _map("binaryData", Field("value", "bytes")),
        4: _bool("immutable", keep_zero=True),
    },
)
OBJECT_REFERENCE = Message(
    "ObjectReference",
    {
        1: _string("kind"),
        2: _string("namespace"),
        3: _string("name"),
        4: _string("uid"),
        5: _string("apiVersion"),
        6: _string("resourceVersion"),
        7: _string("fieldPath"),
    },
)
LOCAL_OBJECT_REFERENCE = Message("LocalObjectReference", {1: _string("name")})
SERVICE_ACCOUNT = Message(
    "ServiceAccount",
    {
        1: _message("metadata", OBJECT_META),
        2: _message("secrets", OBJECT_REFERENCE, repeated=True),
        3: _message("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True),
        4: _bool("automountServiceAccountToken", keep_zero=True),
    },
)

SERVICE_PORT = Message(
    "ServicePort",
    {
        1: _string("name"),
        2: _string("protocol"),
        3: _int("port"),
        4: _message("targetPort", INT_OR_STRING),
        5: _int("nodePort"),
        6: _string("appProtocol", keep_zero=True),
    },
)
SERVICE_SPEC = Message(
    "ServiceSpec",
    {
        1: _message("ports", SERVICE_PORT, repeated=True),
        2: _string_map("selector"),
        3: _string("clusterIP"),
        4: _string("type"),
        5: _strings("externalIPs"),
        7: _string("sessionAffinity"),
        8: _string("loadBalancerIP"),
        9: _strings("loadBalancerSourceRanges"),
        10: _string("externalName"),
        11: _string("externalTrafficPolicy"),
        12: _int("healthCheckNodePort"),
        13: _bool("publishNotReadyAddresses"),
        17: _string("ipFamilyPolicy", keep_zero=True),
        18: _strings("clusterIPs"),
        19: _strings("ipFamilies"),
        20: _bool("allocateLoadBalancerNodePorts", keep_zero=True),
        21: _string("loadBalancerClass", keep_zero=True),
        22: _string("internalTrafficPolicy", keep_zero=True),
        23: _string("trafficDistribution", keep_zero=True),
    },
)
# the server writes a Service's status; generators send it empty (``loadBalancer: {}``)
SERVICE_STATUS = Message(
    "ServiceStatus", {1: _message("loadBalancer", Message("LoadBalancerStatus", {}))}
)
SERVICE = Message(
    "Service",
    {
        1: _message("metadata", OBJECT_META),
        2: _message("spec", SERVICE_SPEC),
        3: _message("status", SERVICE_STATUS),
    },
)

CONTAINER_PORT = Message(
    "ContainerPort",
    {
        1: _string("name"),
        2: _int("hostPort"),
        3: _int("containerPort"),
        4: _string("protocol"),
        5: _string("hostIP"),
    },
)
ENV_VAR = Message("EnvVar", {1: _string("name"), 2: _string("value")})
RESOURCE_REQUIREMENTS = Message(
    "ResourceRequirements",
    {
        1: _map("limits", _message("value", QUANTITY)),
        2: _map("requests", _message("value", QUANTITY)),
    },
)
VOLUME_MOUNT = Message(
    "VolumeMount",
    {
        1: _string("name"),
        2: _bool("readOnly"),
        3: _string("mountPath"),
        4: _string("subPath"),
        5: _string("mountPropagation", keep_zero=True),
        6: _string("subPathExpr"),
    },
)
CONTAINER = Message(
    "Container",
    {
        1: _string("name"),
        2: _string("image"),
        3: _strings("command"),
        4: _strings("args"),
        5: _string("workingDir"),
        6: _message("ports", CONTAINER_PORT, repeated=True),
        7: _message("env", ENV_VAR, repeated=True),
        8: _message("resources", RESOURCE_REQUIREMENTS),
        9: _message("volumeMounts", VOLUME_MOUNT, repeated=True),
        13: _string("terminationMessagePath"),
        14: _string("imagePullPolicy"),
        16: _bool("stdin"),
        17: _bool("stdinOnce"),
        18: _bool("tty"),
        20: _string("terminationMessagePolicy"),
        24: _string("restartPolicy", keep_zero=True),
    },
)
POD_SPEC = Message(
    "PodSpec",
    {
        2: _message("containers", CONTAINER, repeated=True),
        3: _string("restartPolicy"),
        4: _int("terminationGracePeriodSeconds", keep_zero=True),
        5: _int("activeDeadlineSeconds", keep_zero=True),
        6: _string("dnsPolicy"),
        7: _string_map("nodeSelector"),
        8: _string("serviceAccountName"),
        9: _string("serviceAccount"),
        10: _string("nodeName"),
        11: _bool("hostNetwork"),
        12: _bool("hostPID"),
        13: _bool("hostIPC"),
        15: _message("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True),
        16: _string("hostname"),
        17: _string("subdomain"),
        19: _string("schedulerName"),
        20: _message("initContainers", CONTAINER, repeated=True),
        21: _bool("automountServiceAccountToken", keep_zero=True),
        24: _string("priorityClassName"),
        25: _int("priority", keep_zero=True),
        27: _bool("shareProcessNamespace", keep_zero=True),
        29: _string("runtimeClassName", keep_zero=True),
        30: _bool("enableServiceLinks", keep_zero=True),
        31: _string("preemptionPolicy", keep_zero=True),
        35: _bool("setHostnameAsFQDN", keep_zero=True),
        37: _bool("hostUsers", keep_zero=True),
    },
)
POD_TEMPLATE_SPEC = Message(
    "PodTemplateSpec", {1: _message("metadata", OBJECT_META), 2: _message("spec", POD_SPEC)}
)

# ---- k8s.io/api/apps/v1 -----------------------------------------------------------------

ROLLING_UPDATE_DEPLOYMENT = Message(
    "RollingUpdateDeployment",
    {1: _message("maxUnavailable", INT_OR_STRING), 2: _message("maxSurge", INT_OR_STRING)},
)
DEPLOYMENT_STRATEGY = Message(
    "DeploymentStrategy",
    {1: _string("type"), 2: _message("rollingUpdate", ROLLING_UPDATE_DEPLOYMENT)},
)
DEPLOYMENT_SPEC = Message(
    "DeploymentSpec",
    {
        1: _int("replicas", keep_zero=True),
        2: _message("selector", LABEL_SELECTOR),
        3: _message("template", POD_TEMPLATE_SPEC),
        4: _message("strategy", DEPLOYMENT_STRATEGY),
        5: _int("minReadySeconds"),
        6: _int("revisionHistoryLimit", keep_zero=True),
        7: _bool("paused"),
        9: _int("progressDeadlineSeconds", keep_zero=True),
    },
)
DEPLOYMENT_STATUS = Message(
    "DeploymentStatus",
    {
        1: _int("observedGeneration"),
        2: _int("replicas"),
        3: _int("updatedReplicas"),
        4: _int("availableReplicas"),
        5: _int("unavailableReplicas"),
        7: _int("readyReplicas"),
        8: _int("collisionCount", keep_zero=True),
        9: _int("terminatingReplicas", keep_zero=True),
    },
)
DEPLOYMENT = Message(
    "Deployment",
    {
        1: _message("metadata", OBJECT_META),
        2: _message("spec", DEPLOYMENT_SPEC),
        3: _message("status", DEPLOYMENT_STATUS),
    },
)

KINDS: dict[tuple[str, str], Message] = {
    ("v1", "Namespace"): NAMESPACE,
    ("v1", "Secret"): SECRET,
    ("v1", "ConfigMap"): CONFIG_MAP,
    ("v1", "ServiceAccount"): SERVICE_ACCOUNT,
    ("v1", "Service"): SERVICE,
    ("apps/v1", "Deployment"): DEPLOYMENT,
}
