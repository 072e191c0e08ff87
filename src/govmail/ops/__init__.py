"""Operations: filtering set-up, backups, migration, export, metrics, archive journal."""
