-- sqlite3: build, index, join, aggregate and update @N@ generated rows.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, g INTEGER, s TEXT);
WITH RECURSIVE c(i, x) AS (SELECT 1, 2006
    UNION ALL SELECT i + 1, (x * 1103515245 + 12345) % 2147483648
    FROM c WHERE i < @N@)
INSERT INTO t SELECT i, x % 100000, x % 97, hex(x) || '-' || (x % 1000) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_g ON t(g, s);
CREATE TABLE u AS SELECT g, count(*) AS n, sum(k) AS sk, min(s) AS ms
    FROM t GROUP BY g;
SELECT g, n, sk, ms FROM u ORDER BY sk DESC LIMIT 10;
SELECT count(*), sum(a.k - b.k) FROM t a JOIN t b ON b.k = a.k + 1
    WHERE a.g < 50;
UPDATE t SET s = lower(s) || g WHERE k % 7 = 3;
SELECT g, group_concat(substr(s, 1, 3), '') FROM
    (SELECT g, s FROM t WHERE k < 300 ORDER BY s) GROUP BY g LIMIT 20;
SELECT id, k, sum(k) OVER (PARTITION BY g ORDER BY id
    ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM t
    WHERE id % 997 = 0 ORDER BY id;
DELETE FROM t WHERE g % 3 = 0;
SELECT count(*), total(k), max(s) FROM t;
