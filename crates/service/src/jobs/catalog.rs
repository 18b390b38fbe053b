//! The job catalog table and its operations. Every state change is a conditional update:
//!
//! - `claim`: `queued` or `failed_resumable` → `running`, only if the job is in one of those
//!   states; the loser of two claims gets [`Claim::Taken`] (DynamoDB's
//!   `ConditionalCheckFailedException`, read as an answer, not an error).
//! - `report_progress` and `finish`: only by the worker that holds the job, only while it runs;
//!   a worker that lost its job gets [`JobError::Lost`].
//! - `fail_orphans`: at a worker's start, the jobs it held while running become
//!   `failed_resumable` (the restore journal makes re-running them a resume).
//!
//! The table (`--catalog NAME`) has one key attribute, `job_id`; `serve` creates it on demand
//! billing if it is missing, the deploy template creates it in AWS.

use super::record::{JobKind, JobRecord, JobStatus, NewJob, Progress};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use chrono::{SecondsFormat, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// What can go wrong with the job catalog.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A DynamoDB call failed.
    #[error("job catalog {table}: {operation}: {message}")]
    Aws {
        /// The catalog table.
        table: String,
        /// The API operation.
        operation: &'static str,
        /// The service's message, with its code.
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// No such job.
    #[error("no job {0}")]
    NotFound(String),
    /// The worker no longer holds the job (another claimed it, or it is no longer running).
    #[error("job {job_id} is not held by {worker} any more (status {status}, worker {holder})")]
    Lost {
        /// The job.
        job_id: String,
        /// The worker that tried to report.
        worker: String,
        /// The job's status now.
        status: String,
        /// Who holds it now.
        holder: String,
    },
    /// An item is not a job record.
    #[error("job catalog {table}: item {key} is not a job: {reason}")]
    Invalid {
        /// The catalog table.
        table: String,
        /// The item's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl JobError {
    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            JobError::Aws {
                retryable: true,
                ..
            }
        )
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This worker holds the job now; the record as it stands.
    Won(Box<JobRecord>),
    /// The job is not claimable: another worker runs it, or it is finished.
    Taken {
        /// Its status.
        status: JobStatus,
        /// Who holds it, when anyone does.
        worker: Option<String>,
    },
}

/// The job catalog: a DynamoDB table of job items.
#[derive(Debug, Clone)]
pub struct JobCatalog {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn status(v: JobStatus) -> AttributeValue {
    s(v.as_str())
}

impl JobCatalog {
    /// The catalog in `table`, which must exist (see [`JobCatalog::create_if_missing`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        JobCatalog {
            client,
            table: table.into(),
        }
    }

    fn aws<E>(&self, operation: &'static str, err: &rewind_aws::SdkError<E>) -> JobError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let class = rewind_aws::classify(err);
        JobError::Aws {
            table: self.table.clone(),
            operation,
            message: class.message,
            retryable: class.retryable,
        }
    }

    fn parse(&self, item: Item) -> Result<JobRecord, JobError> {
        let key = match item.get("job_id") {
            Some(AttributeValue::S(id)) => id.clone(),
            _ => "(no job_id)".to_string(),
        };
        serde_dynamo::from_item(item).map_err(|e| JobError::Invalid {
            table: self.table.clone(),
            key,
            reason: e.to_string(),
        })
    }

    /// Creates the table (on-demand billing, key `job_id`) unless it exists, and waits until
    /// it is ACTIVE.
    pub async fn create_if_missing(&self) -> Result<(), JobError> {
        let exists = match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(e) => return Err(self.aws("DescribeTable", &e)),
        };
        if !exists {
            let created = self
                .client
                .create_table()
                .table_name(&self.table)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("job_id")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .expect("complete"),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("job_id")
                        .key_type(KeyType::Hash)
                        .build()
                        .expect("complete"),
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await;
            match created {
                Ok(_) => tracing::info!(table = %self.table, "job catalog table created"),
                // Another server created it first.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_in_use_exception()) => {}
                Err(e) => return Err(self.aws("CreateTable", &e)),
            }
        }
        for _ in 0..300 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.aws("DescribeTable", &e))?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(JobError::Aws {
            table: self.table.clone(),
            operation: "DescribeTable",
            message: "the job catalog table is not ACTIVE after 300 s".into(),
            retryable: true,
        })
    }

    /// Creates a queued job and returns it. The id is new (put-if-absent on it).
    pub async fn create(&self, job: NewJob) -> Result<JobRecord, JobError> {
        let created = now();
        let kind = match job.kind {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
        };
        let record = JobRecord {
            job_id: format!(
                "{kind}-{}-{:08x}",
                Utc::now().format("%Y%m%dT%H%M%SZ"),
                rand::random::<u32>()
            ),
            kind: job.kind,
            table: job.table,
            at: job.at,
            target: job.target,
            request: job.request,
            status: JobStatus::Queued,
            worker: None,
            progress: Progress::default(),
            report: None,
            error: None,
            created_at: created.clone(),
            started_at: None,
            updated_at: created,
            finished_at: None,
            attempts: 0,
        };
        let item: Item = serde_dynamo::to_item(&record).expect("job records serialise");
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(job_id)")
            .send()
            .await
            .map_err(|e| self.aws("PutItem", &e))?;
        Ok(record)
    }

    /// Reads a job (strongly consistent: a client polling right after a POST sees it).
    pub async fn get(&self, job_id: &str) -> Result<Option<JobRecord>, JobError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("job_id", s(job_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.aws("GetItem", &e))?;
        out.item.map(|item| self.parse(item)).transpose()
    }

    /// The job as it stands after a refused condition (it must exist: a missing one is
    /// [`JobError::NotFound`]).
    async fn current(&self, job_id: &str) -> Result<JobRecord, JobError> {
        self.get(job_id)
            .await?
            .ok_or_else(|| JobError::NotFound(job_id.to_string()))
    }

    /// Every job, newest first (the catalog holds jobs, not data: a Scan is fine).
    pub async fn list(&self) -> Result<Vec<JobRecord>, JobError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.aws("Scan", &e))?;
            for item in page.items.unwrap_or_default() {
                out.push(self.parse(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(out)
    }

    /// Claims a queued or resumable job for `worker`. Two workers claiming the same job: one
    /// wins, the other is told who has it.
    pub async fn claim(&self, job_id: &str, worker: &str) -> Result<Claim, JobError> {
        let at = now();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("job_id", s(job_id))
            .update_expression(
                "SET #s = :running, #w = :w, #u = :now, started_at = if_not_exists(started_at, :now), \
                 #a = if_not_exists(#a, :zero) + :one REMOVE #e",
            )
            .condition_expression("attribute_exists(job_id) AND #s IN (:queued, :resumable)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#w", "worker")
            .expression_attribute_names("#u", "updated_at")
            .expression_attribute_names("#e", "error")
            .expression_attribute_names("#a", "attempts")
            .expression_attribute_values(":running", status(JobStatus::Running))
            .expression_attribute_values(":queued", status(JobStatus::Queued))
            .expression_attribute_values(":resumable", status(JobStatus::FailedResumable))
            .expression_attribute_values(":w", s(worker))
            .expression_attribute_values(":now", s(&at))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let record = self.parse(out.attributes.unwrap_or_default())?;
                tracing::info!(job = %job_id, worker, attempt = record.attempts, "job claimed");
                Ok(Claim::Won(Box::new(record)))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let current = self.current(job_id).await?;
                Ok(Claim::Taken {
                    status: current.status,
                    worker: current.worker,
                })
            }
            Err(e) => Err(self.aws("UpdateItem", &e)),
        }
    }

    /// Writes a running job's progress; only its worker may.
    pub async fn report_progress(
        &self,
        job_id: &str,
        worker: &str,
        progress: &Progress,
    ) -> Result<(), JobError> {
        let value = serde_dynamo::to_attribute_value(progress).expect("progress serialises");
        self.held_update(
            job_id,
            worker,
            "SET #p = :p, #u = :now",
            vec![(":p", value)],
        )
        .await
    }

    /// Ends a running job: `Ok(report)` succeeds it, `Err((message, resumable))` fails it.
    /// Only its worker may.
    pub async fn finish(
        &self,
        job_id: &str,
        worker: &str,
        outcome: Result<String, (String, bool)>,
    ) -> Result<(), JobError> {
        let (expression, values) = match outcome {
            Ok(report) => (
                "SET #s = :end, #r = :r, finished_at = :now, #u = :now",
                vec![(":end", status(JobStatus::Succeeded)), (":r", s(&report))],
            ),
            Err((message, resumable)) => (
                "SET #s = :end, #e = :r, finished_at = :now, #u = :now",
                vec![
                    (
                        ":end",
                        status(if resumable {
                            JobStatus::FailedResumable
                        } else {
                            JobStatus::Failed
                        }),
                    ),
                    (":r", s(&message)),
                ],
            ),
        };
        self.held_update(job_id, worker, expression, values).await
    }

    /// An update allowed only while `worker` holds the running job.
    async fn held_update(
        &self,
        job_id: &str,
        worker: &str,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), JobError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("job_id", s(job_id))
            .update_expression(expression)
            .condition_expression("#s = :running AND #w = :w")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#w", "worker")
            .expression_attribute_names("#u", "updated_at")
            .expression_attribute_values(":running", status(JobStatus::Running))
            .expression_attribute_values(":w", s(worker))
            .expression_attribute_values(":now", s(&now()));
        // Only the names the expression uses: DynamoDB refuses unused ones.
        for (alias, name) in [("#e", "error"), ("#r", "report"), ("#p", "progress")] {
            if expression.contains(alias) {
                request = request.expression_attribute_names(alias, name);
            }
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let current = self.current(job_id).await?;
                Err(JobError::Lost {
                    job_id: job_id.to_string(),
                    worker: worker.to_string(),
                    status: current.status.as_str().to_string(),
                    holder: current.worker.unwrap_or_else(|| "nobody".into()),
                })
            }
            Err(e) => Err(self.aws("UpdateItem", &e)),
        }
    }

    /// At `worker`'s start: every job it held while running is marked `failed_resumable` (it
    /// stopped mid-way; claiming the job again resumes it from the restore journal). Returns
    /// their ids.
    pub async fn fail_orphans(&self, worker: &str) -> Result<Vec<String>, JobError> {
        let mut orphaned = Vec::new();
        for job in self.list().await? {
            if job.status != JobStatus::Running || job.worker.as_deref() != Some(worker) {
                continue;
            }
            let message =
                format!("the worker {worker} stopped while running it; claim it again to resume");
            match self.finish(&job.job_id, worker, Err((message, true))).await {
                Ok(()) => orphaned.push(job.job_id),
                // Finished or taken in between: not an orphan any more.
                Err(JobError::Lost { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if !orphaned.is_empty() {
            tracing::warn!(worker, jobs = ?orphaned, "jobs left running by a stopped worker marked resumable");
        }
        Ok(orphaned)
    }
}
