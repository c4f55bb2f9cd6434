//! Resource <-> ResourceProto, including YARN's unit suffixes ("Mi", "Gi", "k", ...).
//!
//! Writing produces exactly what Hadoop 3.5.0's Java client produces: the legacy fields `memory` (MB)
//! and `virtual_cores`, and the map entries `memory-mb` (units "Mi") and `vcores` (units ""), each of
//! type COUNTABLE, followed by Spindle's other resource types (units "").
//!
//! Reading accepts either form. A map entry wins over the legacy field when present (Hadoop 3.5.0's
//! own reader takes memory and vcores from the legacy fields only; the two rules agree on everything
//! a Java client writes, and this one also understands a map-only writer). Map values are converted
//! to Spindle's units: memory to MiB, every other type to base units, truncating like YARN's
//! `UnitsConversionUtil`. Missing values are 0, so an empty ResourceProto is the zero resource.

use spindle_types::resource::{MEMORY_MB, VCORES};
use spindle_types::Resource;

use super::ConvertError;
use crate::yarn::{ResourceInformationProto, ResourceProto, ResourceTypesProto};

/// Units of the `memory-mb` resource type, as the RM advertises and the Java client writes them.
pub const MEMORY_UNITS: &str = "Mi";
/// Units of the `vcores` resource type (and of every type without units).
pub const VCORES_UNITS: &str = "";

/// A unit suffix as a ratio to the base unit: (numerator, denominator).
fn unit_ratio(units: &str) -> Option<(i128, i128)> {
    const K: i128 = 1000;
    const KI: i128 = 1024;
    Some(match units {
        "p" => (1, K.pow(4)),
        "n" => (1, K.pow(3)),
        "u" => (1, K.pow(2)),
        "m" => (1, K),
        "" => (1, 1),
        "k" => (K, 1),
        "M" => (K.pow(2), 1),
        "G" => (K.pow(3), 1),
        "T" => (K.pow(4), 1),
        "P" => (K.pow(5), 1),
        "Ki" => (KI, 1),
        "Mi" => (KI.pow(2), 1),
        "Gi" => (KI.pow(3), 1),
        "Ti" => (KI.pow(4), 1),
        "Pi" => (KI.pow(5), 1),
        _ => return None,
    })
}

/// Why a value could not be converted between units.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UnitsProblem {
    UnknownUnits(String),
    OutOfRange,
}

/// `value` in `from` units expressed in `to` units, truncated toward zero as YARN does.
fn convert_units(value: i64, from: &str, to: &str) -> Result<i64, UnitsProblem> {
    let (from_numerator, from_denominator) =
        unit_ratio(from).ok_or_else(|| UnitsProblem::UnknownUnits(from.into()))?;
    let (to_numerator, to_denominator) =
        unit_ratio(to).ok_or_else(|| UnitsProblem::UnknownUnits(to.into()))?;
    if from == to {
        return Ok(value);
    }
    let numerator = i128::from(value)
        .checked_mul(from_numerator * to_denominator)
        .ok_or(UnitsProblem::OutOfRange)?;
    let converted = numerator / (from_denominator * to_numerator);
    i64::try_from(converted).map_err(|_| UnitsProblem::OutOfRange)
}

fn resource_information(key: &str, value: i64, units: &str) -> ResourceInformationProto {
    ResourceInformationProto {
        key: key.to_string(),
        value: Some(value),
        units: Some(units.to_string()),
        r#type: Some(ResourceTypesProto::Countable as i32),
        tags: Vec::new(),
        attributes: Vec::new(),
    }
}

impl From<&Resource> for ResourceProto {
    fn from(resource: &Resource) -> Self {
        let virtual_cores = i32::try_from(resource.vcores).unwrap_or(if resource.vcores < 0 {
            i32::MIN
        } else {
            i32::MAX
        });
        let mut resource_value_map = Vec::with_capacity(2 + resource.others().len());
        resource_value_map.push(resource_information(
            MEMORY_MB,
            resource.memory_mb,
            MEMORY_UNITS,
        ));
        resource_value_map.push(resource_information(VCORES, resource.vcores, VCORES_UNITS));
        for (name, value) in resource.others() {
            resource_value_map.push(resource_information(name, *value, VCORES_UNITS));
        }
        ResourceProto {
            memory: Some(resource.memory_mb),
            virtual_cores: Some(virtual_cores),
            resource_value_map,
        }
    }
}

impl From<Resource> for ResourceProto {
    fn from(resource: Resource) -> Self {
        (&resource).into()
    }
}

impl TryFrom<&ResourceProto> for Resource {
    type Error = ConvertError;
    fn try_from(proto: &ResourceProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ResourceInformationProto";
        let mut resource = Resource::new(
            proto.memory.unwrap_or(0),
            i64::from(proto.virtual_cores.unwrap_or(0)),
        );
        for entry in &proto.resource_value_map {
            if entry.key.is_empty() {
                return Err(ConvertError::InvalidField {
                    message: MESSAGE,
                    field: "key",
                    reason: "empty resource name".into(),
                });
            }
            let units = entry.units.as_deref().unwrap_or("");
            let target_units = if entry.key == MEMORY_MB {
                MEMORY_UNITS
            } else {
                VCORES_UNITS
            };
            let value = convert_units(entry.value.unwrap_or(0), units, target_units).map_err(
                |problem| match problem {
                    UnitsProblem::UnknownUnits(units) => ConvertError::InvalidField {
                        message: MESSAGE,
                        field: "units",
                        reason: format!("unknown units '{units}' for resource '{}'", entry.key),
                    },
                    UnitsProblem::OutOfRange => ConvertError::InvalidField {
                        message: MESSAGE,
                        field: "value",
                        reason: format!(
                            "value of resource '{}' in '{units}' does not fit in 64 bits",
                            entry.key
                        ),
                    },
                },
            )?;
            resource.set(&entry.key, value);
        }
        Ok(resource)
    }
}

impl TryFrom<ResourceProto> for Resource {
    type Error = ConvertError;
    fn try_from(proto: ResourceProto) -> Result<Self, ConvertError> {
        Resource::try_from(&proto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use spindle_types::resource::GPU;

    /// `ProtoUtils.convertToProtoFormat(Resource.newInstance(1408, 1)).toByteArray()` in Hadoop 3.5.0.
    const JAVA_RESOURCE_1408_MB_1_VCORE: &str =
        "08800b10011a140a096d656d6f72792d6d6210800b1a024d6920001a0e0a0676636f72657310011a002000";

    fn entry(key: &str, value: i64, units: Option<&str>) -> ResourceInformationProto {
        ResourceInformationProto {
            key: key.into(),
            value: Some(value),
            units: units.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn writes_the_same_bytes_as_the_java_client() {
        let bytes = ResourceProto::from(Resource::new(1408, 1)).encode_to_vec();
        assert_eq!(hex::encode(bytes), JAVA_RESOURCE_1408_MB_1_VCORE);
    }

    #[test]
    fn reads_the_java_client_encoding() {
        let proto = ResourceProto::decode(
            hex::decode(JAVA_RESOURCE_1408_MB_1_VCORE)
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        assert_eq!(Resource::try_from(proto).unwrap(), Resource::new(1408, 1));
    }

    #[test]
    fn reads_legacy_fields_alone() {
        let proto = ResourceProto {
            memory: Some(8192),
            virtual_cores: Some(4),
            resource_value_map: vec![],
        };
        assert_eq!(Resource::try_from(&proto).unwrap(), Resource::new(8192, 4));
        assert_eq!(
            Resource::try_from(ResourceProto::default()).unwrap(),
            Resource::ZERO
        );
    }

    #[test]
    fn map_entries_win_over_legacy_fields_and_are_converted_to_mib() {
        let proto = ResourceProto {
            memory: Some(1),
            virtual_cores: Some(1),
            resource_value_map: vec![entry("memory-mb", 2, Some("Gi")), entry("vcores", 3, None)],
        };
        assert_eq!(Resource::try_from(&proto).unwrap(), Resource::new(2048, 3));

        let map_only = ResourceProto {
            memory: None,
            virtual_cores: None,
            resource_value_map: vec![
                entry("memory-mb", 1536, Some("Mi")),
                entry(GPU, 2, Some("")),
            ],
        };
        assert_eq!(
            Resource::try_from(&map_only).unwrap(),
            Resource::new(1536, 0).with(GPU, 2)
        );
    }

    #[test]
    fn other_resource_types_round_trip() {
        let resource = Resource::new(4096, 8)
            .with(GPU, 2)
            .with("example.com/fpga", 1);
        let bytes = ResourceProto::from(&resource).encode_to_vec();
        let back = Resource::try_from(ResourceProto::decode(bytes.as_slice()).unwrap()).unwrap();
        assert_eq!(back, resource);
    }

    #[test]
    fn units_convert_like_yarn() {
        assert_eq!(convert_units(1, "Gi", "Mi"), Ok(1024));
        assert_eq!(convert_units(1536, "Ki", "Mi"), Ok(1));
        assert_eq!(convert_units(3, "G", "Mi"), Ok(2861));
        assert_eq!(convert_units(5, "k", ""), Ok(5000));
        assert_eq!(convert_units(1500, "m", ""), Ok(1));
        assert_eq!(convert_units(-2, "Gi", "Mi"), Ok(-2048));
        assert_eq!(
            convert_units(i64::MAX, "Pi", "Mi"),
            Err(UnitsProblem::OutOfRange)
        );
        assert_eq!(
            convert_units(1, "GB", "Mi"),
            Err(UnitsProblem::UnknownUnits("GB".into()))
        );
    }

    #[test]
    fn bad_map_entries_are_errors_naming_the_field() {
        let unknown_units = ResourceProto {
            resource_value_map: vec![entry("memory-mb", 1, Some("GB"))],
            ..Default::default()
        };
        let error = Resource::try_from(&unknown_units).unwrap_err();
        assert!(
            matches!(error, ConvertError::InvalidField { field: "units", .. }),
            "{error}"
        );
        assert!(error.to_string().contains("GB"), "{error}");

        let overflowing = ResourceProto {
            resource_value_map: vec![entry(GPU, i64::MAX, Some("P"))],
            ..Default::default()
        };
        assert!(matches!(
            Resource::try_from(&overflowing),
            Err(ConvertError::InvalidField { field: "value", .. })
        ));

        let empty_key = ResourceProto {
            resource_value_map: vec![entry("", 1, None)],
            ..Default::default()
        };
        assert!(matches!(
            Resource::try_from(&empty_key),
            Err(ConvertError::InvalidField { field: "key", .. })
        ));
    }

    #[test]
    fn huge_vcores_saturate_in_the_legacy_field_but_survive_in_the_map() {
        let resource = Resource::new(1, i64::from(i32::MAX) + 5);
        let proto = ResourceProto::from(&resource);
        assert_eq!(proto.virtual_cores, Some(i32::MAX));
        assert_eq!(Resource::try_from(&proto).unwrap(), resource);
    }
}
