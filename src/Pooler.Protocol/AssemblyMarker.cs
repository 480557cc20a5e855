namespace Pooler.Protocol;
internal static class AssemblyMarker;
