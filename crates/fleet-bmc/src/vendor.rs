//! Vendor differences as data: `vendors/*.toml`, embedded at build time. A profile is the
//! generic profile with the vendor file's fields laid over it; the Redfish driver picks one from
//! the service root (`Vendor`, `Product`, `Oem` keys).

use serde::Deserialize;

use crate::{BootDevice, PowerAction};

const GENERIC: &str = include_str!("../vendors/generic.toml");
const VENDORS: &[(&str, &str)] = &[
    ("dell", include_str!("../vendors/dell.toml")),
    ("lenovo", include_str!("../vendors/lenovo.toml")),
    ("sushy", include_str!("../vendors/sushy.toml")),
    ("nvidia", include_str!("../vendors/nvidia.toml")),
    ("ami", include_str!("../vendors/ami.toml")),
];

#[derive(Clone, Debug, Deserialize)]
pub struct VendorProfile {
    pub name: String,
    #[serde(rename = "match", default)]
    pub matches: Vec<String>,
    pub reset: ResetTypes,
    pub bios: BiosQuirks,
    pub boot: BootTargets,
    pub virtual_media: MediaQuirks,
    pub sessions: SessionQuirks,
    pub systems: SystemQuirks,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SystemQuirks {
    /// Ids (`Id`, `Prefix*`) of members of `/redfish/v1/Systems` that are not the host: a GPU
    /// baseboard, a satellite controller. The host is the first member matching none of them.
    pub not_host: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResetTypes {
    pub on: Vec<String>,
    pub off: Vec<String>,
    pub graceful_shutdown: Vec<String>,
    pub cycle: Vec<String>,
    pub reset: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BiosQuirks {
    pub settings_suffix: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BootTargets {
    pub pxe: String,
    pub disk: String,
    pub cd: String,
    pub bios_setup: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MediaQuirks {
    pub prefer: String,
    pub cd_ids: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SessionQuirks {
    pub use_sessions: bool,
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(bv) if bv.is_table() && v.is_table() => merge(bv, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Whether `word` occurs in `hay` with no letter or digit on either side ("ami" in "AMI" and
/// "ami-bmc", not in "dynamic").
fn has_word(hay: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    hay.match_indices(word).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

impl VendorProfile {
    /// The generic profile.
    pub fn generic() -> VendorProfile {
        Self::named("generic").expect("embedded generic profile parses")
    }

    /// A profile by file name (`generic`, `dell`, ...).
    pub fn named(name: &str) -> Option<VendorProfile> {
        let mut base: toml::Value = toml::from_str(GENERIC).ok()?;
        if name != "generic" {
            let (_, text) = VENDORS.iter().find(|(n, _)| *n == name)?;
            merge(&mut base, toml::from_str(text).ok()?);
        }
        base.try_into().ok()
    }

    /// Every embedded profile name.
    pub fn names() -> Vec<&'static str> {
        std::iter::once("generic")
            .chain(VENDORS.iter().map(|(n, _)| *n))
            .collect()
    }

    /// The profile whose `match` words occur in the service root's identity strings.
    pub fn detect(service_root: &serde_json::Value) -> VendorProfile {
        let mut hay = String::new();
        for key in ["Vendor", "Product", "Name", "Id"] {
            if let Some(s) = service_root.get(key).and_then(|v| v.as_str()) {
                hay.push_str(&s.to_lowercase());
                hay.push(' ');
            }
        }
        if let Some(oem) = service_root.get("Oem").and_then(|v| v.as_object()) {
            for k in oem.keys() {
                hay.push_str(&k.to_lowercase());
                hay.push(' ');
            }
        }
        for (name, _) in VENDORS {
            if let Some(p) = Self::named(name) {
                if p.matches.iter().any(|m| has_word(&hay, &m.to_lowercase())) {
                    return p;
                }
            }
        }
        Self::generic()
    }

    /// The ResetType for `action`: the first preferred value the system allows.
    pub fn reset_type(&self, action: PowerAction, allowed: &[String]) -> Option<String> {
        let prefs = match action {
            PowerAction::On => &self.reset.on,
            PowerAction::Off => &self.reset.off,
            PowerAction::GracefulShutdown => &self.reset.graceful_shutdown,
            PowerAction::Cycle => &self.reset.cycle,
            PowerAction::Reset => &self.reset.reset,
        };
        if allowed.is_empty() {
            return prefs.first().cloned();
        }
        prefs
            .iter()
            .find(|p| allowed.iter().any(|a| a == *p))
            .cloned()
    }

    pub fn boot_target(&self, dev: BootDevice) -> &str {
        match dev {
            BootDevice::Pxe => &self.boot.pxe,
            BootDevice::Disk => &self.boot.disk,
            BootDevice::Cd => &self.boot.cd,
            BootDevice::BiosSetup => &self.boot.bios_setup,
            BootDevice::None => "None",
        }
    }

    pub fn boot_device(&self, target: &str) -> BootDevice {
        if target == self.boot.pxe {
            BootDevice::Pxe
        } else if target == self.boot.disk {
            BootDevice::Disk
        } else if target == self.boot.cd {
            BootDevice::Cd
        } else if target == self.boot.bios_setup {
            BootDevice::BiosSetup
        } else {
            BootDevice::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_parses() {
        for n in VendorProfile::names() {
            let p = VendorProfile::named(n).unwrap_or_else(|| panic!("profile {n} does not parse"));
            assert_eq!(p.name, n);
        }
    }

    #[test]
    fn detect_and_overlay() {
        let dell =
            VendorProfile::detect(&serde_json::json!({"Vendor": "Dell", "Oem": {"Dell": {}}}));
        assert_eq!(dell.name, "dell");
        assert_eq!(dell.virtual_media.prefer, "manager");
        assert_eq!(dell.bios.settings_suffix, "Settings");
        // No settings URI is guessed where neither the BMC nor the vendor data names one.
        assert_eq!(VendorProfile::generic().bios.settings_suffix, "");
        let ami = VendorProfile::detect(&serde_json::json!({"Vendor": "AMI"}));
        assert_eq!(ami.name, "ami");
        assert_eq!(ami.bios.settings_suffix, "SD");
        // Whole words only.
        assert_eq!(
            VendorProfile::detect(&serde_json::json!({"Vendor": "Dynamic Systems"})).name,
            "generic"
        );
        let lenovo = VendorProfile::detect(&serde_json::json!({"Vendor": "Lenovo"}));
        assert_eq!(lenovo.bios.settings_suffix, "Pending");
        assert_eq!(
            VendorProfile::detect(&serde_json::json!({"Vendor": "Gpufleet"})).name,
            "generic"
        );
    }

    #[test]
    fn reset_type_falls_back_to_allowed() {
        let p = VendorProfile::generic();
        let allowed = vec![
            "On".to_string(),
            "ForceOff".to_string(),
            "ForceRestart".to_string(),
        ];
        assert_eq!(
            p.reset_type(PowerAction::Cycle, &allowed).as_deref(),
            Some("ForceRestart")
        );
        assert_eq!(
            p.reset_type(PowerAction::Cycle, &[]).as_deref(),
            Some("PowerCycle")
        );
        assert_eq!(p.reset_type(PowerAction::GracefulShutdown, &allowed), None);
    }
}
