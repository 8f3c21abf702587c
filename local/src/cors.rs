//! The HTTP API's CORS, as API Gateway answers it from template.yaml's `CorsConfiguration`:
//! a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered at
//! the edge and never reaches a function, and every other answer to a request that names an
//! `Origin` says which origins may read it. A widget embedded on a site's own origin needs
//! both, here as in AWS.

use std::sync::OnceLock;

use shared::http::Response;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cors {
    origins: Vec<String>,
    headers: Vec<String>,
    methods: Vec<String>,
    max_age: Option<i64>,
}

impl Cors {
    /// The HTTP API's `CorsConfiguration` (none: no CORS headers at all, as in AWS).
    pub fn from_template(template: &str) -> Cors {
        let doc: serde_yaml::Value = serde_yaml::from_str(template).unwrap_or_default();
        let config = &doc["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
        let list = |name: &str| -> Vec<String> {
            config[name].as_sequence().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
        };
        Cors {
            origins: list("AllowOrigins"),
            headers: list("AllowHeaders"),
            methods: list("AllowMethods"),
            max_age: config["MaxAge"].as_i64(),
        }
    }

    /// The template's, read once.
    pub fn get() -> &'static Cors {
        static CORS: OnceLock<Cors> = OnceLock::new();
        CORS.get_or_init(|| {
            Cors::from_template(&std::fs::read_to_string(crate::repo_root().join("template.yaml")).unwrap_or_default())
        })
    }

    /// The `Access-Control-Allow-Origin` an answer to `origin` carries, if that origin is allowed.
    fn allowed(&self, origin: &str) -> Option<String> {
        if self.origins.iter().any(|o| o == "*") {
            Some("*".into())
        } else {
            self.origins.iter().find(|o| o.eq_ignore_ascii_case(origin)).cloned()
        }
    }

    /// API Gateway's own answer to a preflight; None for any other request.
    pub fn preflight(&self, method: &str, origin: Option<&str>, asked: Option<&str>) -> Option<Response> {
        let (Some(origin), Some(_)) = (origin, asked) else { return None };
        if method != "OPTIONS" || self.origins.is_empty() {
            return None;
        }
        let mut response = Response { status: 204, headers: Vec::new(), body: Vec::new() };
        if let Some(allowed) = self.allowed(origin) {
            response.headers.push(("access-control-allow-origin", allowed));
            response.headers.push(("access-control-allow-methods", self.methods.join(",")));
            response.headers.push(("access-control-allow-headers", self.headers.join(",")));
            if let Some(age) = self.max_age {
                response.headers.push(("access-control-max-age", age.to_string()));
            }
        }
        Some(response)
    }

    /// Adds the allowed origin to an answer to a request that named one.
    pub fn decorate(&self, origin: Option<&str>, response: &mut Response) {
        if let Some(allowed) = origin.and_then(|o| self.allowed(o)) {
            response.headers.push(("access-control-allow-origin", allowed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflights_and_answers_carry_what_the_templates_cors_configuration_allows() {
        let cors = Cors::get();
        assert!(cors.origins.contains(&"*".to_string()), "{cors:?}");
        let pre = cors.preflight("OPTIONS", Some("https://shop.example"), Some("POST")).unwrap();
        assert_eq!(pre.status, 204);
        let header = |r: &Response, n: &str| r.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        assert_eq!(header(&pre, "access-control-allow-origin").as_deref(), Some("*"));
        assert!(header(&pre, "access-control-allow-headers").unwrap().contains("authorization"));
        assert!(header(&pre, "access-control-allow-methods").unwrap().contains("PATCH"));
        assert_eq!(header(&pre, "access-control-max-age").as_deref(), Some("600"));
        assert!(cors.preflight("OPTIONS", None, Some("POST")).is_none(), "no Origin: no preflight");
        assert!(cors.preflight("GET", Some("https://shop.example"), Some("POST")).is_none());
        let mut answer = Response { status: 200, headers: Vec::new(), body: Vec::new() };
        cors.decorate(Some("https://shop.example"), &mut answer);
        assert_eq!(header(&answer, "access-control-allow-origin").as_deref(), Some("*"));
        let only = Cors { origins: vec!["https://shop.example".into()], ..Cors::default() };
        let mut other = Response { status: 200, headers: Vec::new(), body: Vec::new() };
        only.decorate(Some("https://evil.example"), &mut other);
        assert!(other.headers.is_empty(), "an origin not allowed gets no header");
    }
}
