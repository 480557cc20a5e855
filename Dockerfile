# Pooler in a container. Built and run by docker-compose.yml (PostgreSQL + three nodes):
#   docker compose up --build
# or on its own:
#   docker build -t pooler .
#   docker run --rm -p 6432:6432 -v "$PWD/pooler.toml:/etc/pooler/pooler.toml:ro" pooler --config /etc/pooler/pooler.toml
# The arguments after the image name go to pooler (see pooler --help); set host = "0.0.0.0" in
# [general] so that clients outside the container reach it.

# --- build: publish src/Pooler.Host in Release ---
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source

# Restore first, from the project files alone, so that the package layer is reused while only
# source files change.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Pooler.Protocol/Pooler.Protocol.csproj src/Pooler.Protocol/
COPY src/Pooler.Config/Pooler.Config.csproj src/Pooler.Config/
COPY src/Pooler.Core/Pooler.Core.csproj src/Pooler.Core/
COPY src/Pooler.Host/Pooler.Host.csproj src/Pooler.Host/
RUN dotnet restore src/Pooler.Host/Pooler.Host.csproj

COPY src/ src/
RUN dotnet publish src/Pooler.Host/Pooler.Host.csproj -c Release --no-restore -p:UseAppHost=false -o /app

# --- runtime: ASP.NET Core runtime (the host is a web project), no SDK ---
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./

# Client port, Akka.Remote (cluster) port, relay port, HTTP port: the defaults that
# cluster-config/docker/*.toml use.
EXPOSE 6432 4053 6433 9930

# The non-root user that the .NET images provide (uid 1654, "app").
USER $APP_UID

ENTRYPOINT ["dotnet", "pooler.dll"]
CMD ["--config", "/etc/pooler/pooler.toml"]
