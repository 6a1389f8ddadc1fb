"""SQL migrations, applied in file-name order by ``adapters.postgres.migrate``."""
