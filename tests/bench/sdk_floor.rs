//! The second reference of `make bench-cold`: the least a function of this kind can be, a
//! lambda_runtime function that reads one DynamoDB item per invocation through the AWS SDK
//! with this project's SDK setup (`shared::app`: the environment's configuration, rustls on
//! aws-lc, AWS's roots or `AWS_CA_BUNDLE`) and nothing else. Its distance from hello-lambda
//! is what the SDK and TLS cost; a real function's distance from it is the project's own.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let table = std::env::var("TABLE_NAME")?;
    let sdk = shared::app::sdk_config();
    let db = shared::app::dynamodb_client(&sdk, std::env::var("DYNAMODB_ENDPOINT").ok());
    let (db, table) = (&db, table.as_str());
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let key = |v: &str| AttributeValue::S(v.to_string());
        db.get_item().table_name(table).key("PK", key("CHAT#sdk-floor")).key("SK", key("R")).send().await?;
        Ok::<_, Error>(json!({"statusCode": 200, "body": "read"}))
    }))
    .await
}
