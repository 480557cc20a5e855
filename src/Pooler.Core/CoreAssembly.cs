namespace Pooler.Core;

/// <summary>Placeholder until the actors land (issue 3): the project is part of the fixed layout.</summary>
internal static class CoreAssembly;
