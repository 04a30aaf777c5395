-- A stored credential is bound to the endpoint it was given for (addresses, ports, protocol,
-- TLS settings of its owner's configuration, as fleet_model::asset::credential_binding writes
-- them). The binding is part of the ciphertext's associated data, so altering this column makes
-- the secret undecryptable rather than redirecting it. NULL: stored before binding existed; such
-- a secret is not released to any endpoint until it is set again.
ALTER TABLE secrets ADD COLUMN bound_to TEXT;
