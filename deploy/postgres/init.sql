-- One database per service: no service reads another's tables.
CREATE DATABASE enrollment;
CREATE DATABASE accompaniment;
CREATE DATABASE offer;
CREATE DATABASE territorial;
CREATE DATABASE reporting;

-- Statement statistics of every database, read from this one (RUNBOOK, "Slow statements").
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
