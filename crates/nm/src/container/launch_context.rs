//! The wire form of a container launch (`ContainerLaunchContextProto`) to and from the domain
//! `ContainerLaunchSpec`: read from `startContainers`, written to and read from the recovery
//! store.

use std::collections::BTreeMap;

use spindle_proto::yarn::{
    ContainerLaunchContextProto, LocalResourceProto, StringLocalResourceMapProto,
    StringStringMapProto, UrlProto,
};
use spindle_types::{ContainerId, Resource};

use super::spec::ContainerLaunchSpec;
use crate::localizer::{LocalResource, LocalResourceType, LocalResourceVisibility, ResourceUrl};

/// The domain form of a launch context; a message naming what is wrong otherwise.
pub fn launch_spec(
    container_id: ContainerId,
    user: String,
    resource: Resource,
    context: ContainerLaunchContextProto,
) -> Result<ContainerLaunchSpec, String> {
    let mut local_resources = BTreeMap::new();
    for entry in context.local_resources {
        let name = entry.key.unwrap_or_default();
        let value = entry
            .value
            .ok_or_else(|| format!("local resource '{name}' has no value"))?;
        let resource = local_resource(&name, &value)?;
        local_resources.insert(name, resource);
    }
    Ok(ContainerLaunchSpec {
        container_id,
        user,
        resource,
        local_resources,
        environment: context
            .environment
            .into_iter()
            .map(|e| (e.key.unwrap_or_default(), e.value.unwrap_or_default()))
            .collect(),
        commands: context.command,
        credentials: context.tokens,
        gpu_devices: Vec::new(),
    })
}

/// One `LocalResourceProto` in its domain form (`name` is for the messages).
pub fn local_resource(name: &str, value: &LocalResourceProto) -> Result<LocalResource, String> {
    let url = value
        .resource
        .as_ref()
        .ok_or_else(|| format!("local resource '{name}' has no URL"))?;
    let resource_type = LocalResourceType::from_wire(value.r#type.unwrap_or(2))
        .ok_or_else(|| format!("local resource '{name}' has an unknown type"))?;
    let visibility = LocalResourceVisibility::from_wire(value.visibility.unwrap_or(3))
        .ok_or_else(|| format!("local resource '{name}' has an unknown visibility"))?;
    Ok(LocalResource {
        url: ResourceUrl {
            scheme: url.scheme().to_string(),
            user_info: url.user_info().to_string(),
            host: url.host().to_string(),
            port: url.port.unwrap_or(-1),
            file: url.file().to_string(),
        },
        size: value.size(),
        timestamp: value.timestamp(),
        resource_type,
        visibility,
        pattern: value.pattern.clone(),
    })
}

/// The wire form of one local resource.
pub fn local_resource_proto(resource: &LocalResource) -> LocalResourceProto {
    let url = &resource.url;
    LocalResourceProto {
        resource: Some(UrlProto {
            scheme: Some(url.scheme.clone()),
            host: Some(url.host.clone()),
            port: Some(url.port),
            file: Some(url.file.clone()),
            user_info: Some(url.user_info.clone()),
        }),
        size: Some(resource.size),
        timestamp: Some(resource.timestamp),
        r#type: Some(resource.resource_type as i32),
        visibility: Some(resource.visibility as i32),
        pattern: resource.pattern.clone(),
        should_be_uploaded_to_shared_cache: None,
    }
}

/// The launch context `spec` runs (environment in its order, GPU variables included).
pub fn launch_context_proto(spec: &ContainerLaunchSpec) -> ContainerLaunchContextProto {
    ContainerLaunchContextProto {
        local_resources: spec
            .local_resources
            .iter()
            .map(|(name, resource)| StringLocalResourceMapProto {
                key: Some(name.clone()),
                value: Some(local_resource_proto(resource)),
            })
            .collect(),
        tokens: spec.credentials.clone(),
        environment: spec
            .environment
            .iter()
            .map(|(key, value)| StringStringMapProto {
                key: Some(key.clone()),
                value: Some(value.clone()),
            })
            .collect(),
        command: spec.commands.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    #[test]
    fn a_spec_survives_its_wire_form() {
        let container_id = ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1700000000000, 3), 1),
            0,
            4,
        );
        let spec = ContainerLaunchSpec {
            container_id,
            user: "alice".into(),
            resource: Resource::new(512, 1),
            local_resources: BTreeMap::from([(
                "__spark_conf__".to_string(),
                LocalResource {
                    url: ResourceUrl {
                        scheme: "file".into(),
                        user_info: String::new(),
                        host: String::new(),
                        port: -1,
                        file: "/staging/conf.zip".into(),
                    },
                    size: 10,
                    timestamp: 1700000000123,
                    resource_type: LocalResourceType::Archive,
                    visibility: LocalResourceVisibility::Private,
                    pattern: Some("x".into()),
                },
            )]),
            environment: vec![("B".into(), "2".into()), ("A".into(), "1".into())],
            commands: vec!["echo".into(), "hi".into()],
            credentials: Some(b"HDTS".to_vec()),
            gpu_devices: Vec::new(),
        };
        let back = launch_spec(
            container_id,
            "alice".into(),
            Resource::new(512, 1),
            launch_context_proto(&spec),
        )
        .unwrap();
        assert_eq!(format!("{back:?}"), format!("{spec:?}"));
    }
}
