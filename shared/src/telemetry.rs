//! JSON logs, one object a line; level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// The filter for a configured level: a bare level (Lambda's `AWS_LAMBDA_LOG_LEVEL`) applies
/// to this service's own code only, the libraries staying at `info`: the AWS SDK's and
/// hyper's debug lines carry request contents (items, presigned URLs). A full directive
/// (`RUST_LOG=aws_smithy_runtime=debug`) is taken as it is, for a deliberate look.
pub fn filter(level: &str) -> String {
    let level = level.trim().to_lowercase();
    if ["trace", "debug", "info", "warn", "error"].contains(&level.as_str()) {
        format!("info,shared={level},local_server={level}")
    } else {
        level
    }
}

pub fn init() {
    let level =
        std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(filter(&level)).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_debug_level_is_this_services_not_the_sdks() {
        assert_eq!(super::filter("DEBUG"), "info,shared=debug,local_server=debug");
        assert_eq!(super::filter("aws_smithy_runtime=debug"), "aws_smithy_runtime=debug");
    }
}
