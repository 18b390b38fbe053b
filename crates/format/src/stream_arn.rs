//! Stream ARNs: where a Lambda record says which table and which stream it belongs to.

use crate::error::ConvertError;

/// A DynamoDB stream ARN, `arn:<partition>:dynamodb:<region>:<account>:table/<name>/stream/<label>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamArn {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The table's region.
    pub region: String,
    /// The table's account.
    pub account: String,
    /// The table name.
    pub table: String,
    /// The stream label (an ISO timestamp): a re-enabled stream gets a new one.
    pub label: String,
}

impl StreamArn {
    /// Parses a stream ARN, naming the ARN when it is not one.
    pub fn parse(arn: &str) -> Result<Self, ConvertError> {
        let bad = || {
            ConvertError::field(
                "eventSourceARN",
                format!("{arn:?} is not a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)"),
            )
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", partition, "dynamodb", region, account, resource] = parts[..] else {
            return Err(bad());
        };
        let rest = resource.strip_prefix("table/").ok_or_else(bad)?;
        let (table, label) = rest.split_once("/stream/").ok_or_else(bad)?;
        if table.is_empty() || label.is_empty() || table.contains('/') {
            return Err(bad());
        }
        Ok(StreamArn {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            table: table.into(),
            label: label.into(),
        })
    }

    /// The ARN of the table the stream belongs to.
    pub fn table_arn(&self) -> String {
        format!(
            "arn:{}:dynamodb:{}:{}:table/{}",
            self.partition, self.region, self.account, self.table
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aws_and_refuses_others() {
        let a = StreamArn::parse(
            "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T06:00:00.000",
        )
        .unwrap();
        assert_eq!(a.table, "shop");
        assert_eq!(a.label, "2026-11-26T06:00:00.000");
        assert_eq!(
            a.table_arn(),
            "arn:aws:dynamodb:us-east-1:123456789012:table/shop"
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:dynamodb:us-east-1:1:table/shop",
            "arn:aws:dynamodb:us-east-1:1:table//stream/x",
            "arn:aws:dynamodb:us-east-1:1:table/shop/stream/",
        ] {
            let e = StreamArn::parse(bad).unwrap_err();
            assert_eq!(e.field, "eventSourceARN");
        }
    }
}
