//! Resource types that hold data: replacing one makes a new, empty resource and deletes the old one with
//! its data (unless a DeletionPolicy or UpdateReplacePolicy of Retain or Snapshot keeps it).

const STATEFUL: &[&str] = &[
    "AWS::Backup::BackupVault",
    "AWS::Cognito::UserPool",
    "AWS::DocDB::DBCluster",
    "AWS::DocDB::DBInstance",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table",
    "AWS::EC2::Volume",
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::Elasticsearch::Domain",
    "AWS::FSx::FileSystem",
    "AWS::Kinesis::Stream",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::MSK::Cluster",
    "AWS::Neptune::DBCluster",
    "AWS::Neptune::DBInstance",
    "AWS::OpenSearchService::Domain",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::Redshift::Cluster",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::Timestream::Table",
];

/// Whether replacing a resource of this type loses what it holds.
pub fn is_stateful(resource_type: &str) -> bool {
    STATEFUL.contains(&resource_type)
}

#[cfg(test)]
mod tests {
    #[test]
    fn databases_and_buckets_are_stateful_networks_are_not() {
        assert!(super::is_stateful("AWS::RDS::DBInstance") && super::is_stateful("AWS::S3::Bucket"));
        assert!(!super::is_stateful("AWS::EC2::VPC") && !super::is_stateful("AWS::Lambda::Function"));
        let mut sorted = super::STATEFUL.to_vec();
        sorted.sort_by_key(|s| s.to_ascii_lowercase());
        assert_eq!(sorted, super::STATEFUL.to_vec(), "kept sorted");
    }
}
