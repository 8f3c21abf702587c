//! Creates the table from template.yaml's own definition, so the schema has one source.

use std::path::Path;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    attribute_definitions: Vec<AttributeDef>,
    key_schema: Vec<KeyDef>,
    #[serde(default)]
    global_secondary_indexes: Vec<IndexDef>,
    time_to_live_specification: Option<TtlDef>,
    stream_specification: Option<StreamDef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDef {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyDef {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexDef {
    index_name: String,
    key_schema: Vec<KeyDef>,
    projection: ProjectionDef,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionDef {
    projection_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlDef {
    attribute_name: String,
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamDef {
    stream_view_type: String,
}

/// The `Resources.Table.Properties` of a SAM template.
fn table_properties(template: &str) -> Result<TableProperties, BoxError> {
    let doc: serde_yaml::Value = serde_yaml::from_str(template)?;
    let props = doc
        .get("Resources")
        .and_then(|r| r.get("Table"))
        .and_then(|t| t.get("Properties"))
        .ok_or("template.yaml has no Resources.Table.Properties")?;
    Ok(serde_yaml::from_value(props.clone())?)
}

fn key_schema(keys: &[KeyDef]) -> Result<Vec<KeySchemaElement>, BoxError> {
    keys.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

/// Creates `table_name` as template.yaml defines the table, unless it exists already.
pub async fn create_table(client: &Client, table_name: &str, template_path: &Path) -> Result<(), BoxError> {
    let props = table_properties(&std::fs::read_to_string(template_path)?)?;
    let exists = client.describe_table().table_name(table_name).send().await.is_ok();
    if exists {
        return Ok(());
    }
    let mut create = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&props.key_schema)?));
    for a in &props.attribute_definitions {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()?,
        );
    }
    for index in &props.global_secondary_indexes {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.projection_type.as_str()))
                        .build(),
                )
                .build()?,
        );
    }
    if let Some(stream) = &props.stream_specification {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()?,
        );
    }
    create.send().await?;
    if let Some(ttl) = &props.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().attribute_name(&ttl.attribute_name).enabled(ttl.enabled).build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}
