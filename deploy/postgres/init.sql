-- One database per service: no service reads another's tables.
CREATE DATABASE enrollment;
CREATE DATABASE accompaniment;
CREATE DATABASE offer;
CREATE DATABASE territorial;
CREATE DATABASE reporting;
