using Xunit;

// Each test class starts PostgreSQL and pooler processes; on a 2-core machine they run one
// class at a time so that timing never depends on what else the suite is doing.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
