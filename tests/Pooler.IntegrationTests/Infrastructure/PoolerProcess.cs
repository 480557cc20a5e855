using System.Diagnostics;
using System.Text;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A real <c>pooler</c> process started from the build output, with its console output captured
/// line by line so tests can wait for what an operator would see in the log.
/// </summary>
public sealed class PoolerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly object _gate = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private event Action? LineArrived;

    private PoolerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return [.. _lines]; }
    }

    public string Output => string.Join('\n', Lines);

    /// <summary>How many lines have been logged so far: pass it as <c>from</c> to wait only for later lines.</summary>
    public int LineCount
    {
        get { lock (_gate) return _lines.Count; }
    }

    public Task<int> Exited => _exited.Task;

    /// <summary>Starts <c>pooler</c> with the given arguments (not waiting for anything).</summary>
    public static PoolerProcess Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(PoolerBinary.Path);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["DOTNET_gcServer"] = "0"; // several nodes share a 2-core machine in tests

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var pooler = new PoolerProcess(process);
        process.OutputDataReceived += (_, e) => pooler.Append(e.Data);
        process.ErrorDataReceived += (_, e) => pooler.Append(e.Data);
        process.Exited += (_, _) => pooler.OnExited();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return pooler;
    }

    /// <summary>Runs <c>pooler</c> to completion (for --help, --version, bad configs).</summary>
    public static async Task<ProcessResult> RunToExitAsync(params string[] arguments) =>
        await ProcessRunner.RunAsync("dotnet", [PoolerBinary.Path, .. arguments], timeout: TimeSpan.FromSeconds(60));

    /// <summary>
    /// Waits until a log line contains <paramref name="text"/>; fails if the process exits first.
    /// Lines before index <paramref name="from"/> (see <see cref="LineCount"/>) are not looked at.
    /// </summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null, int from = 0)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            lock (_gate)
                for (var i = from; i < _lines.Count; i++)
                    if (_lines[i].Contains(text, StringComparison.Ordinal))
                    {
                        found.TrySetResult(_lines[i]);
                        return;
                    }
        }
        LineArrived += Check;
        try
        {
            Check();
            var winner = await Task.WhenAny(found.Task, _exited.Task, Task.Delay(timeout ?? TimeSpan.FromSeconds(60)));
            if (winner == found.Task)
                return await found.Task;
            // Output may still be arriving just after the exit event.
            Check();
            if (found.Task.IsCompleted)
                return await found.Task;
            throw new TimeoutException(winner == _exited.Task
                ? $"pooler exited with code {_exited.Task.Result} before logging '{text}':\n{Output}"
                : $"pooler did not log '{text}' in time:\n{Output}");
        }
        finally
        {
            LineArrived -= Check;
        }
    }

    /// <summary>Asks the process to stop the way an init system would (SIGTERM) and waits.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString()]);
            var winner = await Task.WhenAny(_exited.Task, Task.Delay(timeout ?? TimeSpan.FromSeconds(30)));
            if (winner != _exited.Task)
            {
                _process.Kill(entireProcessTree: true);
                throw new TimeoutException($"pooler did not stop after SIGTERM:\n{Output}");
            }
        }
        return await _exited.Task;
    }

    /// <summary>Kills the process with SIGKILL, as a crash or the OOM killer would, and waits for it to exit.</summary>
    public async Task<int> KillAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: false); // SIGKILL on Unix
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
        }
        return await _exited.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
                await StopAsync(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_gate)
            _lines.Add(line);
        LineArrived?.Invoke();
    }

    private void OnExited()
    {
        // Let the asynchronous output readers drain before reporting the exit.
        _process.WaitForExit();
        _exited.TrySetResult(_process.ExitCode);
        LineArrived?.Invoke();
    }
}

/// <summary>Finds the pooler executable built alongside the tests.</summary>
public static class PoolerBinary
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

    private static string Locate()
    {
        // The tests run from tests/Pooler.IntegrationTests/bin/<Configuration>/net10.0/.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Debug";
        var root = RepositoryRoot();
        var candidate = System.IO.Path.Combine(root, "src", "Pooler.Host", "bin", configuration, "net10.0", "pooler.dll");
        if (File.Exists(candidate))
            return candidate;
        throw new FileNotFoundException($"pooler.dll was not found at {candidate}; build the solution first");
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Pooler.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (holding Pooler.sln) was not found");
    }
}
