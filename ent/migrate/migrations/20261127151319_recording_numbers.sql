-- Modify "recordings" table
ALTER TABLE "recordings" ADD COLUMN "caller_number" character varying NULL, ADD COLUMN "callee_number" character varying NULL, ADD COLUMN "account_code_number" character varying NULL;
-- Create index "recording_domain_id_account_code_number" to table: "recordings"
CREATE INDEX "recording_domain_id_account_code_number" ON "recordings" ("domain_id", "account_code_number");
-- Create index "recording_domain_id_callee_number" to table: "recordings"
CREATE INDEX "recording_domain_id_callee_number" ON "recordings" ("domain_id", "callee_number");
-- Create index "recording_domain_id_caller_number" to table: "recordings"
CREATE INDEX "recording_domain_id_caller_number" ON "recordings" ("domain_id", "caller_number");
