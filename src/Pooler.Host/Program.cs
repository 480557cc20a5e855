using Pooler.Host;

RuntimeTuning.Apply();
return await PoolerProgram.RunAsync(args);
