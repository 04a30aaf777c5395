-- Node lists are usually filtered by rack and state together (and paginated by id).
CREATE INDEX assets_kind_rack_state ON assets (kind, rack_id, state, id);
