package postgres

// NewMigratorFS lets external tests run the migrator over their own files.
var NewMigratorFS = newMigrator
