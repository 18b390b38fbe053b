//! The CloudWatch namespace and dimension every rewind metric uses (capture and compactor
//! publish side by side, and one dashboard reads both).

/// The namespace of every rewind metric.
pub const NAMESPACE: &str = "Rewind";

/// The dimension naming the source table.
pub const TABLE_DIMENSION: &str = "Table";
