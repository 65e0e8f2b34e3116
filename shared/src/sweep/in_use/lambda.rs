//! Lambda functions of package type Image: every published version (and `$LATEST`),
//! each by its own `ImageUri` and `ResolvedImageUri`, named with the aliases that
//! point at it. An alias may point at an older version, whose image still runs.

use std::collections::HashMap;

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, FunctionVersion, PackageType};
use futures::{StreamExt, TryStreamExt};

use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "Lambda functions";
/// `GetFunction` / `ListAliases` calls in flight at once.
const CONCURRENCY: usize = 4;

/// The images of every version of every image function.
pub async fn images(lambda: &aws_sdk_lambda::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let functions: Vec<FunctionConfiguration> = lambda
        .list_functions()
        .function_version(FunctionVersion::All)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListFunctions", &err))?;
    let versions: Vec<(String, Option<String>)> = functions
        .iter()
        .filter(|function| function.package_type() == Some(&PackageType::Image))
        .filter_map(|function| {
            Some((
                function.function_name()?.to_owned(),
                function.version().map(str::to_owned),
            ))
        })
        .collect();
    let mut names: Vec<&str> = versions.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let aliases: Vec<(String, HashMap<String, Vec<String>>)> = futures::stream::iter(names)
        .map(|name| async move {
            let aliases: Vec<aws_sdk_lambda::types::AliasConfiguration> = lambda
                .list_aliases()
                .function_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|err| AwsCallError::new("ListAliases", &err))?;
            let mut by_version: HashMap<String, Vec<String>> = HashMap::new();
            for alias in &aliases {
                if let (Some(alias), Some(version)) = (alias.name(), alias.function_version()) {
                    by_version
                        .entry(version.to_owned())
                        .or_default()
                        .push(alias.to_owned());
                }
            }
            Ok::<_, AwsCallError>((name.to_owned(), by_version))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let aliases: HashMap<String, HashMap<String, Vec<String>>> = aliases.into_iter().collect();
    let uses: Vec<Vec<ImageUse>> = futures::stream::iter(versions)
        .map(|(name, version)| {
            let aliases = &aliases;
            async move {
                let output = lambda
                    .get_function()
                    .function_name(&name)
                    .set_qualifier(version.clone())
                    .send()
                    .await
                    .map_err(|err| AwsCallError::new("GetFunction", &err))?;
                let version_aliases = version
                    .as_ref()
                    .and_then(|version| aliases.get(&name)?.get(version))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                Ok::<_, AwsCallError>(version_images(
                    &name,
                    version.as_deref(),
                    version_aliases,
                    &output,
                ))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(uses.into_iter().flatten().collect())
}

/// The image references of one function version, as `GetFunction` with that version as
/// qualifier answers: `Code.ImageUri` (as deployed) and `Code.ResolvedImageUri` (the
/// digest Lambda resolved it to when the version was published).
pub fn version_images(
    name: &str,
    version: Option<&str>,
    aliases: &[String],
    output: &GetFunctionOutput,
) -> Vec<ImageUse> {
    let mut user = match version {
        Some(version) => format!("Lambda function {name}:{version}"),
        None => format!("Lambda function {name}"),
    };
    if !aliases.is_empty() {
        let mut aliases = aliases.to_vec();
        aliases.sort();
        user = format!("{user} (alias {})", aliases.join(", "));
    }
    let code = output.code();
    [
        code.and_then(|code| code.image_uri()),
        code.and_then(|code| code.resolved_image_uri()),
    ]
    .into_iter()
    .flatten()
    .map(|image| ImageUse::new(image, None, &user))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::FunctionCodeLocation;

    /// moto's `GetFunction` with a qualifier answers with the latest code; Lambda
    /// answers with that version's own code, as built here from the documented shape.
    #[test]
    fn an_alias_on_an_older_version_holds_that_version_s_image() {
        let output = GetFunctionOutput::builder()
            .code(
                FunctionCodeLocation::builder()
                    .repository_type("ECR")
                    .image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1")
                    .resolved_image_uri(
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:aa",
                    )
                    .build(),
            )
            .build();
        let user = "Lambda function api:1 (alias live, stable)";
        assert_eq!(
            version_images(
                "api",
                Some("1"),
                &["stable".to_owned(), "live".to_owned()],
                &output
            ),
            vec![
                ImageUse::new(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1",
                    None,
                    user
                ),
                ImageUse::new(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:aa",
                    None,
                    user
                ),
            ]
        );
    }
}
