#!/usr/bin/env python3
"""A test proxy in front of moto server, for what moto cannot act out.

Started by the Rust tests (crates/cli/tests/disasters.rs); it forwards every request to moto
unchanged and adds two behaviours of real AWS:

* ``--refuse-region R``: a lost region. Every request signed for region R (the credential scope
  in the Authorization header: ``Credential=KEY/DATE/R/SERVICE/aws4_request``) is refused with a
  503 and logged to ``--log``; the test fails if the log holds any line. A restore that must
  work with the source region gone must never sign a request for it.

* ``POST /__rewind/freeze {"stream_arn": A, "region": R}``: a deleted table's stream. On AWS the
  stream of a deleted table stays readable for 24 hours (status DISABLED, shards closed, records
  still there); moto drops it with the table (moto/dynamodbstreams/models.py,
  ``_get_table_from_arn`` looks the table up by name, and ``delete_table`` in
  moto/dynamodb/models/__init__.py pops it). The freeze reads the whole stream from moto while
  the table still exists; from then on the proxy itself answers DescribeStream,
  GetShardIterator and GetRecords for that stream as AWS answers for a deleted table's stream.

The listening port is written to ``--port-file`` once the socket is bound.
"""

import argparse
import http.client
import os
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STREAMS_TARGET = "DynamoDBStreams_20120810."
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")

ARGS = None
LOCK = threading.Lock()
FROZEN = {}  # stream ARN -> {"description": {...}, "records": [...]}


def upstream_call(method, path, body, headers):
    parsed = urllib.parse.urlparse(ARGS.upstream)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def streams_call(region, operation, payload):
    """One DynamoDB Streams call to moto, signed (as far as moto looks) for `region`."""
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": STREAMS_TARGET + operation,
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261205/%s/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0" % region,
    }
    status, _, body = upstream_call("POST", "/", json.dumps(payload).encode(), headers)
    if status != 200:
        raise RuntimeError("%s answered %d: %s" % (operation, status, body[:300]))
    return json.loads(body)


def freeze(stream_arn, region):
    described = streams_call(region, "DescribeStream", {"StreamArn": stream_arn})["StreamDescription"]
    shards = []
    for shard in described.get("Shards", []):
        shard_id = shard["ShardId"]
        it = streams_call(region, "GetShardIterator", {
            "StreamArn": stream_arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON",
        }).get("ShardIterator")
        records = []
        while it:
            page = streams_call(region, "GetRecords", {"ShardIterator": it, "Limit": 1000})
            if not page.get("Records"):
                break
            records.extend(page["Records"])
            it = page.get("NextShardIterator")
        rng = dict(shard.get("SequenceNumberRange", {}))
        last = records[-1]["dynamodb"]["SequenceNumber"] if records else rng.get("StartingSequenceNumber", "0")
        rng["EndingSequenceNumber"] = last  # DynamoDB closes the shards of a deleted table
        shard = dict(shard, SequenceNumberRange=rng)
        shards.append((shard, records))
    description = dict(described, StreamStatus="DISABLED", Shards=[s for s, _ in shards])
    with LOCK:
        FROZEN[stream_arn] = {"description": description,
                              "records": {s["ShardId"]: r for s, r in shards}}
    return {"stream_arn": stream_arn, "shards": len(shards),
            "records": sum(len(r) for _, r in shards)}


def frozen_answer(operation, payload):
    """AWS's answer for a deleted table's stream, or None when the stream is not frozen."""
    if operation == "DescribeStream":
        frozen = FROZEN.get(payload.get("StreamArn"))
        return None if frozen is None else {"StreamDescription": frozen["description"]}
    if operation == "GetShardIterator":
        arn = payload.get("StreamArn")
        frozen = FROZEN.get(arn)
        if frozen is None:
            return None
        records = frozen["records"].get(payload.get("ShardId"))
        if records is None:
            return ("ResourceNotFoundException", "no shard %s" % payload.get("ShardId"))
        kind = payload.get("ShardIteratorType")
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        if kind == "TRIM_HORIZON":
            index = 0
        elif kind == "LATEST":
            index = len(records)
        else:
            n = int(payload.get("SequenceNumber", "0"))
            after = kind == "AFTER_SEQUENCE_NUMBER"
            index = next((i for i, s in enumerate(seqs) if (s > n if after else s >= n)), len(records))
        return {"ShardIterator": "frozen|%s|%s|%d" % (arn, payload["ShardId"], index)}
    if operation == "GetRecords":
        it = payload.get("ShardIterator", "")
        if not it.startswith("frozen|"):
            return None
        _, arn, shard_id, index = it.split("|")  # ARNs and shard ids hold no '|'
        index = int(index)
        records = FROZEN[arn]["records"][shard_id]
        page = records[index:index + int(payload.get("Limit", 1000))]
        answer = {"Records": page}
        if page:  # a closed shard: an iterator until an empty read at its end
            answer["NextShardIterator"] = "frozen|%s|%s|%d" % (arn, shard_id, index + len(page))
        return answer
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests print what matters
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, content_type="application/x-amz-json-1.0", headers=()):
        self.send_response(status)
        sent = set()
        for name, value in headers:
            if name.lower() in HOP_BY_HOP:
                continue
            self.send_header(name, value)
            sent.add(name.lower())
        if "content-type" not in sent and content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/__rewind/freeze"):
            try:
                req = json.loads(body)
                self.reply(200, json.dumps(freeze(req["stream_arn"], req.get("region", "us-east-1"))).encode(),
                           "application/json")
            except Exception as e:  # the test shows the message
                self.reply(500, json.dumps({"error": str(e)}).encode(), "application/json")
            return
        scope = SCOPE.search(self.headers.get("Authorization", "") or "")
        region = scope.group(1) if scope else None
        if ARGS.refuse_region and region == ARGS.refuse_region:
            with LOCK, open(ARGS.log, "a") as log:
                log.write("%s %s %s target=%s\n" % (region, self.command, self.path,
                                                    self.headers.get("X-Amz-Target", "")))
            self.reply(503, json.dumps({"__type": "ServiceUnavailable",
                                        "message": "region %s is unreachable (test proxy)" % region}).encode())
            return
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(STREAMS_TARGET):
            try:
                answer = frozen_answer(target[len(STREAMS_TARGET):], json.loads(body or b"{}"))
            except (ValueError, KeyError) as e:
                answer = ("ValidationException", str(e))
            if isinstance(answer, tuple):
                self.reply(400, json.dumps({"__type": answer[0], "message": answer[1]}).encode())
                return
            if answer is not None:
                self.reply(200, json.dumps(answer).encode())
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        status, resp_headers, resp_body = upstream_call(self.command, self.path, body, headers)
        self.reply(status, resp_body, None, resp_headers)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="moto server, e.g. http://127.0.0.1:5123")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--refuse-region")
    parser.add_argument("--log", default="/dev/null", help="where refused requests are logged")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
