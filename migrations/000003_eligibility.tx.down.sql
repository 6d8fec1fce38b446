DROP TABLE family_bindings;
DROP TABLE eligibilities;
-- Diners registered at the counter have no openid and cannot exist in the old schema.
DELETE FROM diners WHERE openid IS NULL;
DROP INDEX diners_name_idx;
DROP INDEX diners_phone_index_idx;
ALTER TABLE diners
    DROP CONSTRAINT diners_registered_by_fkey,
    DROP CONSTRAINT diners_phone_check,
    DROP CONSTRAINT diners_origin_check,
    DROP CONSTRAINT diners_app_openid_pair_check,
    DROP CONSTRAINT diners_name_check,
    DROP COLUMN registered_by,
    DROP COLUMN phone_index,
    DROP COLUMN phone_key,
    DROP COLUMN phone_enc,
    DROP COLUMN name,
    ALTER COLUMN openid SET NOT NULL,
    ALTER COLUMN app_id SET NOT NULL;
