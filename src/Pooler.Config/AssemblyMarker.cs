namespace Pooler.Config;
internal static class AssemblyMarker;
