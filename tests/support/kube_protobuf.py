"""Kubernetes protobuf request bodies, read as the API server reads them: the `k8s\\0`
envelope (runtime.Unknown) around a v1 Secret, the one object Helm sends as protobuf (its
release records). Answers stay JSON: Helm accepts both.

Field numbers are those of k8s.io/api/core/v1/generated.proto and
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto."""

import base64
import datetime

MAGIC = b"k8s\x00"


class Unsupported(Exception):
    pass


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) of each field of one message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise Unsupported(f"wire type {wire}")
        yield number, wire, value


def text(b):
    return bytes(b).decode()


def entry(buf):
    """A map entry: (key, value bytes)."""
    got = dict((n, v) for n, _, v in fields(buf))
    return text(got.get(1, b"")), bytes(got.get(2, b""))


def timestamp(buf):
    got = dict((n, v) for n, _, v in fields(buf))
    t = datetime.datetime.fromtimestamp(got.get(1, 0), datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_meta(buf):
    meta = {}
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, _, value in fields(buf):
        if number in strings:
            meta[strings[number]] = text(value)
        elif number == 8:
            meta["creationTimestamp"] = timestamp(value)
        elif number in (11, 12):
            k, v = entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[k] = v.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(text(value))
    return meta


def secret(buf):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}
    for number, _, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            k, v = entry(value)
            obj.setdefault("data", {})[k] = base64.b64encode(v).decode()
        elif number == 3:
            obj["type"] = text(value)
        elif number == 4:
            k, v = entry(value)
            obj.setdefault("stringData", {})[k] = v.decode()
        elif number == 5:
            obj["immutable"] = bool(value)
    return obj


def decode(body):
    """The object a protobuf body holds, as the JSON the server would have read."""
    if not body.startswith(MAGIC):
        raise Unsupported("no k8s protobuf envelope")
    got = {}
    for number, _, value in fields(body[len(MAGIC):]):
        got[number] = value
    type_meta = dict((n, text(v)) for n, _, v in fields(got.get(1, b"")))
    kind = (type_meta.get(1, ""), type_meta.get(2, ""))
    if kind != ("v1", "Secret"):
        raise Unsupported(f"{kind[0]} {kind[1]}")
    return secret(got.get(2, b""))
