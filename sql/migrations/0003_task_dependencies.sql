-- Dependency checks (DESIGN deviation 4). Citus accepts any row in
-- pg_dist_background_task_depend, so a self dependency or a cycle leaves tasks `blocked`
-- forever and a dependency on another job's task fails with a bare foreign-key error.
-- Steward rejects each of them when the row is inserted or updated, with a clear error.
--
-- Serialisation: two transactions adding A->B and B->A at once must not both pass the cycle
-- check. Every insert/update first writes the job's row in task_depend_guard. That row lock
-- makes concurrent writers of one job's dependencies wait for each other; under READ
-- COMMITTED the cycle check that follows takes a fresh snapshot and sees what the other
-- committed, and under REPEATABLE READ or SERIALIZABLE the write fails with a serialization
-- error (the caller retries) instead of checking against a stale snapshot. Jobs never wait
-- for each other.

CREATE TABLE steward.task_depend_guard (
  job_id bigint PRIMARY KEY
    REFERENCES steward.pg_dist_background_job (job_id) ON DELETE CASCADE,
  changes bigint NOT NULL DEFAULT 1
);

COMMENT ON TABLE steward.task_depend_guard IS
  'one row per job whose dependencies were written: serialises the dependency cycle check';

-- SECURITY DEFINER so that whoever may write the depend table can also take the guard.
CREATE FUNCTION steward.check_task_dependency() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, steward
  AS $$
DECLARE
  task_job bigint;
  dep_job bigint;
  old_task bigint;
  old_dep bigint;
BEGIN
  IF NEW.task_id = NEW.depends_on THEN
    RAISE EXCEPTION 'task % cannot depend on itself', NEW.task_id
      USING ERRCODE = 'check_violation';
  END IF;

  SELECT t.job_id INTO task_job FROM steward.pg_dist_background_task t WHERE t.task_id = NEW.task_id;
  SELECT t.job_id INTO dep_job FROM steward.pg_dist_background_task t WHERE t.task_id = NEW.depends_on;
  IF task_job <> dep_job THEN
    RAISE EXCEPTION 'task % of job % cannot depend on task % of job %: dependencies must stay within one job',
                    NEW.task_id, task_job, NEW.depends_on, dep_job
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF task_job <> NEW.job_id THEN
    RAISE EXCEPTION 'task % belongs to job %, not to job %', NEW.task_id, task_job, NEW.job_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF task_job IS NULL OR dep_job IS NULL THEN
    RETURN NEW;  -- a task that does not exist is left to the foreign keys
  END IF;

  INSERT INTO steward.task_depend_guard AS g (job_id) VALUES (NEW.job_id)
    ON CONFLICT (job_id) DO UPDATE SET changes = g.changes + 1;

  IF TG_OP = 'UPDATE' THEN
    old_task := OLD.task_id;
    old_dep := OLD.depends_on;
  END IF;
  -- NEW.task_id -> NEW.depends_on closes a cycle when NEW.task_id is already reachable
  -- from NEW.depends_on (the row being updated does not count).
  IF EXISTS (
      WITH RECURSIVE reachable(task_id) AS (
        SELECT NEW.depends_on
        UNION
        SELECT d.depends_on
          FROM steward.pg_dist_background_task_depend d
          JOIN reachable r ON d.task_id = r.task_id
         WHERE d.job_id = NEW.job_id
           AND (d.task_id, d.depends_on) IS DISTINCT FROM (old_task, old_dep))
      SELECT 1 FROM reachable WHERE reachable.task_id = NEW.task_id) THEN
    RAISE EXCEPTION 'dependency of task % on task % would form a cycle', NEW.task_id, NEW.depends_on
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

REVOKE EXECUTE ON FUNCTION steward.check_task_dependency() FROM PUBLIC;

CREATE TRIGGER check_task_dependency
  BEFORE INSERT OR UPDATE ON steward.pg_dist_background_task_depend
  FOR EACH ROW EXECUTE FUNCTION steward.check_task_dependency();
