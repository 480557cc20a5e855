using Pooler.Host;

return await PoolerProgram.RunAsync(args);
