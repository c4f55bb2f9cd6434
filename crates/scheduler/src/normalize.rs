//! Ask validation and normalization: round up to the allocation increment, reject above the maximum.

use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::Resource;

use crate::config::AllocationLimits;
use crate::event::ResourceRequest;

/// A capability the scheduler cannot grant. The messages follow YARN's
/// `InvalidResourceRequestException` texts, which clients show to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAsk {
    #[error(
        "Invalid resource request! Cannot allocate containers as requested resource is less than 0! \
         Requested resource type=[{resource_type}], Requested resource={requested}"
    )]
    Negative {
        resource_type: String,
        requested: Resource,
    },
    #[error(
        "Invalid resource request! Cannot allocate containers as requested resource is greater than \
         maximum allowed allocation. Requested resource type=[{resource_type}], Requested \
         resource={requested}, maximum allowed allocation={maximum}, please note that maximum allowed \
         allocation is calculated by scheduler based on maximum resource of registered NodeManagers, \
         which might be less than configured maximum allocation"
    )]
    AboveMaximum {
        resource_type: String,
        requested: Resource,
        maximum: Resource,
    },
}

/// An invalid entry of an `allocate` call, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResourceRequest {
    #[error("{reason} (request at priority {priority} for '{resource_name}')")]
    Capability {
        priority: i32,
        resource_name: String,
        reason: Box<InvalidAsk>,
    },
    #[error(
        "Invalid resource request! Negative number of containers {num_containers} requested at \
         priority {priority} for '{resource_name}'"
    )]
    NegativeContainerCount {
        priority: i32,
        resource_name: String,
        num_containers: i32,
    },
    #[error("Invalid resource request! Empty resource name at priority {priority}")]
    EmptyResourceName { priority: i32 },
}

fn round_up(value: i64, minimum: i64, increment: i64) -> i64 {
    let value = value.max(minimum);
    if increment <= 0 {
        return value;
    }
    match value % increment {
        0 => value,
        remainder => (value - remainder).saturating_add(increment),
    }
}

/// The capability the scheduler grants for `capability`: each of memory and vcores at least the
/// minimum, rounded up to the increment, never above the maximum; other resource types rounded
/// up to their increment. Negative values and values above `limits.maximum` are rejected.
pub fn normalize(capability: &Resource, limits: &AllocationLimits) -> Result<Resource, InvalidAsk> {
    let mut types: Vec<&str> = vec![MEMORY_MB, VCORES];
    types.extend(capability.others().iter().map(|(name, _)| name.as_str()));
    for resource_type in types {
        let value = capability.get(resource_type);
        if value < 0 {
            return Err(InvalidAsk::Negative {
                resource_type: resource_type.to_string(),
                requested: capability.clone(),
            });
        }
        let limited = matches!(resource_type, MEMORY_MB | VCORES)
            || limits
                .maximum
                .others()
                .iter()
                .any(|(name, _)| name == resource_type);
        if limited && value > limits.maximum.get(resource_type) {
            return Err(InvalidAsk::AboveMaximum {
                resource_type: resource_type.to_string(),
                requested: capability.clone(),
                maximum: limits.maximum.clone(),
            });
        }
    }
    let mut normalized = capability.clone();
    for resource_type in [MEMORY_MB, VCORES] {
        let rounded = round_up(
            capability.get(resource_type),
            limits.minimum.get(resource_type),
            limits.increment.get(resource_type),
        );
        normalized.set(
            resource_type,
            rounded.min(limits.maximum.get(resource_type)),
        );
    }
    for (resource_type, value) in capability.others() {
        let rounded = round_up(
            *value,
            limits.minimum.get(resource_type),
            limits.increment.get(resource_type),
        );
        let limited = limits
            .maximum
            .others()
            .iter()
            .any(|(name, _)| name == resource_type);
        let capped = if limited {
            rounded.min(limits.maximum.get(resource_type))
        } else {
            rounded
        };
        normalized.set(resource_type, capped);
    }
    Ok(normalized)
}

/// Validates one `allocate` entry and returns it with a normalized capability.
pub fn normalize_request(
    request: &ResourceRequest,
    limits: &AllocationLimits,
) -> Result<ResourceRequest, InvalidResourceRequest> {
    if request.resource_name.is_empty() {
        return Err(InvalidResourceRequest::EmptyResourceName {
            priority: request.priority,
        });
    }
    if request.num_containers < 0 {
        return Err(InvalidResourceRequest::NegativeContainerCount {
            priority: request.priority,
            resource_name: request.resource_name.clone(),
            num_containers: request.num_containers,
        });
    }
    let capability = normalize(&request.capability, limits).map_err(|reason| {
        InvalidResourceRequest::Capability {
            priority: request.priority,
            resource_name: request.resource_name.clone(),
            reason: Box::new(reason),
        }
    })?;
    Ok(ResourceRequest {
        capability,
        ..request.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::resource::GPU;

    fn limits() -> AllocationLimits {
        AllocationLimits::default()
    }

    #[test]
    fn rounds_up_to_the_minimum_increment_per_type() {
        let cases = [
            ((1, 1), (1024, 1)),
            ((0, 0), (1024, 1)),
            ((1024, 1), (1024, 1)),
            ((1025, 2), (2048, 2)),
            ((1408, 1), (2048, 1)),
            ((8192, 4), (8192, 4)),
        ];
        for ((memory, vcores), (want_memory, want_vcores)) in cases {
            let got = normalize(&Resource::new(memory, vcores), &limits()).unwrap();
            assert_eq!(
                got,
                Resource::new(want_memory, want_vcores),
                "ask {memory},{vcores}"
            );
        }
    }

    #[test]
    fn a_separate_increment_rounds_above_the_minimum() {
        let limits = AllocationLimits {
            minimum: Resource::new(512, 1),
            maximum: Resource::new(8000, 8),
            increment: Resource::new(256, 1),
        };
        assert_eq!(
            normalize(&Resource::new(600, 1), &limits).unwrap(),
            Resource::new(768, 1)
        );
        assert_eq!(
            normalize(&Resource::new(100, 1), &limits).unwrap(),
            Resource::new(512, 1)
        );
        // Rounding never goes past a maximum that is not a multiple of the increment.
        assert_eq!(
            normalize(&Resource::new(7990, 1), &limits).unwrap(),
            Resource::new(8000, 1)
        );
    }

    #[test]
    fn above_maximum_is_rejected_naming_the_type_and_values() {
        let err = normalize(&Resource::new(9000, 1), &limits()).unwrap_err();
        assert_eq!(
            err,
            InvalidAsk::AboveMaximum {
                resource_type: "memory-mb".into(),
                requested: Resource::new(9000, 1),
                maximum: Resource::new(8192, 4)
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("Requested resource type=[memory-mb]"),
            "{text}"
        );
        assert!(
            text.contains("<memory:9000, vCores:1>") && text.contains("<memory:8192, vCores:4>"),
            "{text}"
        );
        let err = normalize(&Resource::new(1024, 5), &limits()).unwrap_err();
        assert!(err.to_string().contains("type=[vcores]"), "{err}");
    }

    #[test]
    fn negative_values_are_rejected() {
        let err = normalize(&Resource::new(-1, 1), &limits()).unwrap_err();
        assert!(
            matches!(err, InvalidAsk::Negative { ref resource_type, .. } if resource_type == "memory-mb")
        );
        let err = normalize(&Resource::new(1024, 1).with(GPU, -2), &limits()).unwrap_err();
        assert!(err.to_string().contains("yarn.io/gpu"), "{err}");
    }

    #[test]
    fn extra_types_are_only_limited_when_the_maximum_lists_them() {
        let ask = Resource::new(1024, 1).with(GPU, 3);
        assert_eq!(normalize(&ask, &limits()).unwrap(), ask);
        let mut limited = limits();
        limited.maximum = limited.maximum.with(GPU, 2);
        assert!(matches!(
            normalize(&ask, &limited),
            Err(InvalidAsk::AboveMaximum { .. })
        ));
    }

    #[test]
    fn request_errors_name_the_request() {
        let mut request = ResourceRequest::anywhere(3, Resource::new(100_000, 1), 2);
        let err = normalize_request(&request, &limits()).unwrap_err();
        assert!(err.to_string().contains("priority 3 for '*'"), "{err}");
        request.capability = Resource::new(1000, 1);
        request.num_containers = -1;
        assert!(matches!(
            normalize_request(&request, &limits()),
            Err(InvalidResourceRequest::NegativeContainerCount {
                num_containers: -1,
                ..
            })
        ));
        request.num_containers = 1;
        request.resource_name.clear();
        assert!(matches!(
            normalize_request(&request, &limits()),
            Err(InvalidResourceRequest::EmptyResourceName { priority: 3 })
        ));
        request.resource_name = "host1".into();
        assert_eq!(
            normalize_request(&request, &limits()).unwrap().capability,
            Resource::new(1024, 1)
        );
    }
}
