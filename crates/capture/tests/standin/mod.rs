//! A scripted stand-in for the DynamoDB Streams endpoint (and the three DynamoDB calls capture
//! makes at start), for tests of the poller against AWS behaviour that moto does not have: shards
//! that close and split, paginated shard listings, expired iterators, trimmed records,
//! throttling.
//!
//! It is a small HTTP/1.1 server on 127.0.0.1 speaking the awsJson1_0 protocol
//! (`X-Amz-Target: DynamoDBStreams_20120810.GetRecords`, JSON bodies, errors as HTTP 400/500 with
//! `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": ...}`), so the real SDK
//! clients are what the poller uses. The script (shards, their records, faults) can be changed
//! between and during runs through [`StandIn::with`].

#![allow(dead_code)]

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// One shard of the scripted stream.
#[derive(Debug, Clone)]
pub struct ScriptShard {
    pub id: String,
    pub parent: Option<String>,
    /// Records as GetRecords returns them (`dynamodb.SequenceNumber` set).
    pub records: Vec<Value>,
    /// First sequence number of the shard (the first record's, or one below it).
    pub start_seq: u128,
    /// Closed: an ending sequence number is listed, and GetRecords at the end returns no
    /// `NextShardIterator`.
    pub closed: bool,
    /// Records before this index are trimmed (older than 24 h).
    pub trimmed_before: usize,
    /// Listed by DescribeStream; a shard that is not listed does not exist (ResourceNotFound).
    pub listed: bool,
    /// List the first record not trimmed as `StartingSequenceNumber` (default: the shard's
    /// first sequence number, as AWS does).
    pub list_first_available: bool,
}

impl ScriptShard {
    fn seq_at(&self, index: usize) -> u128 {
        self.start_seq + 10 * index as u128
    }

    pub fn seq(&self, index: usize) -> String {
        self.seq_at(index).to_string()
    }

    pub fn padded(&self, index: usize) -> String {
        format!("{:0>40}", self.seq_at(index))
    }

    /// Appends records (workload-shaped or API-shaped JSON), numbering them in order.
    pub fn push_records(&mut self, records: impl IntoIterator<Item = Value>) {
        for mut r in records {
            let seq = self.seq(self.records.len());
            if let Some(obj) = r.as_object_mut() {
                obj.remove("eventSourceARN");
            }
            r["dynamodb"]["SequenceNumber"] = Value::String(seq);
            self.records.push(r);
        }
    }
}

/// An injected failure: the `at_call`-th call (1-based) of `op` (on `shard`, or any shard when
/// `None`) and the `times - 1` calls after it fail with `code` and HTTP `status`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub op: &'static str,
    pub shard: Option<String>,
    pub at_call: usize,
    pub times: usize,
    pub code: &'static str,
    pub status: u16,
    pub fired: usize,
}

impl Fault {
    pub fn new(
        op: &'static str,
        shard: Option<&str>,
        at_call: usize,
        times: usize,
        code: &'static str,
    ) -> Self {
        let status = if code == "InternalServerError" {
            500
        } else {
            400
        };
        Fault {
            op,
            shard: shard.map(str::to_string),
            at_call,
            times,
            code,
            status,
            fired: 0,
        }
    }
}

/// A logged call.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: String,
    pub shard: Option<String>,
    pub request: Value,
    pub error: Option<String>,
}

/// The script and what happened.
#[derive(Debug)]
pub struct Script {
    pub table: String,
    pub label: String,
    pub view_type: String,
    pub shards: Vec<ScriptShard>,
    /// Most shards per DescribeStream page.
    pub page_size: usize,
    pub faults: Vec<Fault>,
    pub calls: Vec<Call>,
    pub item_count: i64,
    /// The table was deleted: DescribeTable answers ResourceNotFound and the stream is listed
    /// `DISABLED` (its records stay readable, as on AWS for 24 hours).
    pub table_deleted: bool,
    counts: HashMap<(String, Option<String>), usize>,
    iterators: HashMap<String, (String, usize)>,
    next_iterator: u64,
}

impl Script {
    pub fn table_arn(&self) -> String {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", self.table)
    }

    pub fn stream_arn(&self) -> String {
        format!("{}/stream/{}", self.table_arn(), self.label)
    }

    pub fn shard(&mut self, id: &str) -> &mut ScriptShard {
        self.shards
            .iter_mut()
            .find(|s| s.id == id)
            .expect("scripted shard")
    }

    /// Adds a shard whose sequence numbers start at `start_seq`.
    pub fn add_shard(
        &mut self,
        id: &str,
        parent: Option<&str>,
        start_seq: u128,
    ) -> &mut ScriptShard {
        self.shards.push(ScriptShard {
            id: id.into(),
            parent: parent.map(str::to_string),
            records: Vec::new(),
            start_seq,
            closed: false,
            trimmed_before: 0,
            listed: true,
            list_first_available: false,
        });
        self.shards.last_mut().expect("just pushed")
    }

    pub fn calls_of(&self, op: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.op == op).collect()
    }

    fn fault(&mut self, op: &str, shard: Option<&str>) -> Option<(u16, &'static str)> {
        let n = {
            let count = self
                .counts
                .entry((op.to_string(), shard.map(str::to_string)))
                .or_insert(0);
            *count += 1;
            *count
        };
        let any = {
            let count = self
                .counts
                .entry((op.to_string(), Some("*".into())))
                .or_insert(0);
            *count += 1;
            *count
        };
        for f in &mut self.faults {
            if f.op != op {
                continue;
            }
            let call = match &f.shard {
                Some(s) if Some(s.as_str()) == shard => n,
                Some(_) => continue,
                None => any,
            };
            if call >= f.at_call && call < f.at_call + f.times {
                f.fired += 1;
                return Some((f.status, f.code));
            }
        }
        None
    }

    fn new_iterator(&mut self, shard: &str, pos: usize) -> String {
        self.next_iterator += 1;
        let id = format!("it-{}-{}", self.next_iterator, shard);
        self.iterators.insert(id.clone(), (shard.to_string(), pos));
        id
    }

    fn handle(&mut self, target: &str, body: &Value) -> Result<Value, (u16, String, String)> {
        let err =
            |status: u16, code: &str, message: String| Err((status, code.to_string(), message));
        match target {
            "DynamoDB_20120810.DescribeTable" => {
                if body["TableName"] != self.table.as_str() || self.table_deleted {
                    return err(
                        400,
                        "ResourceNotFoundException",
                        "Requested resource not found".into(),
                    );
                }
                Ok(json!({"Table": {
                    "TableName": self.table,
                    "TableArn": self.table_arn(),
                    "TableId": "5f1c7d7e-0000-4000-8000-000000000001",
                    "TableStatus": "ACTIVE",
                    "CreationDateTime": 1_795_600_000.0,
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "AttributeDefinitions": [{"AttributeName": "sk", "AttributeType": "S"}, {"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0},
                    "StreamSpecification": {"StreamEnabled": true, "StreamViewType": self.view_type},
                    "LatestStreamArn": self.stream_arn(),
                    "LatestStreamLabel": self.label,
                    "ItemCount": self.item_count,
                    "TableSizeBytes": self.item_count * 100,
                    "DeletionProtectionEnabled": false
                }}))
            }
            "DynamoDB_20120810.DescribeTimeToLive" => Ok(json!({"TimeToLiveDescription": {
                "TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"
            }})),
            "DynamoDB_20120810.ListTagsOfResource" => {
                Ok(json!({"Tags": [{"Key": "env", "Value": "test"}]}))
            }
            "DynamoDBStreams_20120810.DescribeStream" => {
                if let Some((status, code)) = self.fault("DescribeStream", None) {
                    return err(status, code, "injected".into());
                }
                if body["StreamArn"] != self.stream_arn().as_str() {
                    return err(
                        400,
                        "ResourceNotFoundException",
                        "Requested resource not found: Stream not found".into(),
                    );
                }
                let listed: Vec<&ScriptShard> = self.shards.iter().filter(|s| s.listed).collect();
                let start = match body["ExclusiveStartShardId"].as_str() {
                    Some(after) => listed
                        .iter()
                        .position(|s| s.id == after)
                        .map_or(0, |i| i + 1),
                    None => 0,
                };
                let limit = body["Limit"]
                    .as_u64()
                    .map_or(self.page_size, |l| l as usize)
                    .min(self.page_size);
                let page: Vec<&ScriptShard> =
                    listed.iter().skip(start).take(limit).copied().collect();
                let more = start + page.len() < listed.len();
                let shards: Vec<Value> = page
                    .iter()
                    .map(|s| {
                        let first = if s.list_first_available {
                            s.seq(s.trimmed_before)
                        } else {
                            s.seq(0)
                        };
                        let mut range = json!({"StartingSequenceNumber": first});
                        if s.closed {
                            range["EndingSequenceNumber"] =
                                json!(s.seq(s.records.len().saturating_sub(1)));
                        }
                        let mut shard = json!({"ShardId": s.id, "SequenceNumberRange": range});
                        if let Some(p) = &s.parent {
                            shard["ParentShardId"] = json!(p);
                        }
                        shard
                    })
                    .collect();
                let mut description = json!({
                    "StreamArn": self.stream_arn(),
                    "StreamLabel": self.label,
                    "StreamStatus": if self.table_deleted { "DISABLED" } else { "ENABLED" },
                    "StreamViewType": self.view_type,
                    "CreationRequestDateTime": 1_795_600_000.0,
                    "TableName": self.table,
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "Shards": shards,
                });
                if more {
                    description["LastEvaluatedShardId"] = json!(page.last().map(|s| s.id.clone()));
                }
                Ok(json!({"StreamDescription": description}))
            }
            "DynamoDBStreams_20120810.GetShardIterator" => {
                let shard_id = body["ShardId"].as_str().unwrap_or_default().to_string();
                if let Some((status, code)) = self.fault("GetShardIterator", Some(&shard_id)) {
                    return err(status, code, "injected".into());
                }
                let Some(shard) = self
                    .shards
                    .iter()
                    .find(|s| s.id == shard_id && s.listed)
                    .cloned()
                else {
                    return err(
                        400,
                        "ResourceNotFoundException",
                        format!("Requested resource not found: Shard does not exist ({shard_id})"),
                    );
                };
                let find = |seq: &str| {
                    let seq: u128 = seq.parse().map_err(|_| {
                        (
                            400u16,
                            "ValidationException".to_string(),
                            format!("bad sequence number {seq}"),
                        )
                    })?;
                    (0..shard.records.len())
                        .find(|&i| shard.seq_at(i) == seq)
                        .ok_or((
                            400u16,
                            "ValidationException".to_string(),
                            format!("sequence number {seq} is not in shard {}", shard.id),
                        ))
                };
                let trimmed = || {
                    Err((
                        400u16,
                        "TrimmedDataAccessException".to_string(),
                        "The operation attempted to read past the oldest stream record in a shard."
                            .to_string(),
                    ))
                };
                let pos = match body["ShardIteratorType"].as_str() {
                    Some("TRIM_HORIZON") => shard.trimmed_before,
                    Some("LATEST") => shard.records.len(),
                    Some("AFTER_SEQUENCE_NUMBER") => {
                        let i = find(body["SequenceNumber"].as_str().unwrap_or_default())?;
                        if i + 1 < shard.trimmed_before {
                            return trimmed();
                        }
                        i + 1
                    }
                    Some("AT_SEQUENCE_NUMBER") => {
                        let i = find(body["SequenceNumber"].as_str().unwrap_or_default())?;
                        if i < shard.trimmed_before {
                            return trimmed();
                        }
                        i
                    }
                    other => {
                        return err(
                            400,
                            "ValidationException",
                            format!("bad iterator type {other:?}"),
                        )
                    }
                };
                Ok(json!({"ShardIterator": self.new_iterator(&shard_id, pos)}))
            }
            "DynamoDBStreams_20120810.GetRecords" => {
                let it = body["ShardIterator"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let Some((shard_id, pos)) = self.iterators.get(&it).cloned() else {
                    return err(
                        400,
                        "ValidationException",
                        format!("Invalid ShardIterator {it}"),
                    );
                };
                if let Some((status, code)) = self.fault("GetRecords", Some(&shard_id)) {
                    return err(status, code, "injected".into());
                }
                let Some(shard) = self
                    .shards
                    .iter()
                    .find(|s| s.id == shard_id && s.listed)
                    .cloned()
                else {
                    return err(
                        400,
                        "ResourceNotFoundException",
                        "Requested resource not found: Shard does not exist".into(),
                    );
                };
                if pos < shard.trimmed_before {
                    return err(
                        400,
                        "TrimmedDataAccessException",
                        "The operation attempted to read past the oldest stream record in a shard."
                            .into(),
                    );
                }
                let limit = body["Limit"].as_u64().map_or(1000, |l| l as usize);
                let end = (pos + limit).min(shard.records.len());
                let records: Vec<Value> = shard.records[pos..end].to_vec();
                let mut out = json!({"Records": records});
                if !(shard.closed && end == shard.records.len()) {
                    out["NextShardIterator"] = json!(self.new_iterator(&shard_id, end));
                }
                Ok(out)
            }
            other => err(
                400,
                "UnknownOperationException",
                format!("stand-in does not serve {other}"),
            ),
        }
    }
}

/// The running stand-in.
#[derive(Debug)]
pub struct StandIn {
    pub endpoint: String,
    script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts a stand-in for `table` with a NEW_AND_OLD_IMAGES stream and no shards.
    pub async fn start(table: &str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let script = Arc::new(Mutex::new(Script {
            table: table.into(),
            label: "2026-11-26T06:00:00.000".into(),
            view_type: "NEW_AND_OLD_IMAGES".into(),
            shards: Vec::new(),
            page_size: 100,
            faults: Vec::new(),
            calls: Vec::new(),
            item_count: 0,
            table_deleted: false,
            counts: HashMap::new(),
            iterators: HashMap::new(),
            next_iterator: 0,
        }));
        let shared = script.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let script = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, script).await;
                });
            }
        });
        StandIn {
            endpoint,
            script,
            task,
        }
    }

    /// Reads or changes the script.
    pub fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().expect("script lock"))
    }

    /// SDK clients pointed at the stand-in, with the SDK's own retries off so the poller's
    /// backoff is what is tested.
    pub fn clients(&self) -> (aws_sdk_dynamodb::Client, aws_sdk_dynamodbstreams::Client) {
        let creds = Credentials::new("testing", "testing", None, None, "stand-in");
        let ddb = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(creds.clone())
            .endpoint_url(&self.endpoint)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        let streams = aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodbstreams::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(&self.endpoint)
            .retry_config(aws_sdk_dynamodbstreams::config::retry::RetryConfig::disabled())
            .build();
        (
            aws_sdk_dynamodb::Client::from_conf(ddb),
            aws_sdk_dynamodbstreams::Client::from_conf(streams),
        )
    }
}

fn find_header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

async fn serve(mut socket: TcpStream, script: Arc<Mutex<Script>>) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = find_header_end(&buf) {
                break end;
            }
            let mut chunk = [0u8; 8192];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let target = header("x-amz-target").unwrap_or_default();
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Value =
            serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        let (status, payload) = {
            let mut script = script.lock().expect("script lock");
            let result = script.handle(&target, &body);
            let op = target.rsplit('.').next().unwrap_or_default().to_string();
            let shard = body["ShardId"].as_str().map(str::to_string).or_else(|| {
                body["ShardIterator"]
                    .as_str()
                    .and_then(|it| script.iterators.get(it).map(|(s, _)| s.clone()))
            });
            let error = result.as_ref().err().map(|(_, code, _)| code.clone());
            script.calls.push(Call {
                op,
                shard,
                request: body.clone(),
                error,
            });
            match result {
                Ok(v) => (200, v),
                Err((status, code, message)) => (
                    status,
                    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message}),
                ),
            }
        };
        let text = serde_json::to_vec(&payload).expect("JSON");
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            _ => "Internal Server Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: stand-in\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(&text).await?;
    }
}
