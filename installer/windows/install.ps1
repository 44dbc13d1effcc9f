# Install access-probe without the MSI, in the MSI's layout (for machines where IT deploys
# scripts rather than packages, e.g. an Intune platform script). Run as an administrator:
#   powershell -ExecutionPolicy Bypass -File install.ps1 -Payload .\access-probe [-NoTray] [-NoHeadless]
#   powershell -ExecutionPolicy Bypass -File install.ps1 -Uninstall
# -Payload is the PyInstaller folder (access-probe.exe, access-probe-tray.exe, _internal\);
# -Template the config template (installer\config.sample.yaml).
param(
    [string]$Payload = (Join-Path $PSScriptRoot "access-probe"),
    [string]$Template = (Join-Path $PSScriptRoot "..\config.sample.yaml"),
    [switch]$NoTray,
    [switch]$NoHeadless,
    [switch]$Uninstall
)
$ErrorActionPreference = "Stop"
$InstallDir = Join-Path $env:ProgramFiles "access-probe"
$DataDir = Join-Path $env:ProgramData "access-probe"
$RunKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Run"
$TaskName = "access-probe"

function Remove-Agent {
    if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
        Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
        Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
    }
    Remove-ItemProperty -Path $RunKey -Name "access-probe" -ErrorAction SilentlyContinue
    if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir }
    # ProgramData\access-probe\config.yaml is IT's file (Group Policy / Intune): left in place.
    Remove-Item -Force (Join-Path $DataDir "config.sample.yaml") -ErrorAction SilentlyContinue
}

if ($Uninstall) { Remove-Agent; exit 0 }

Remove-Agent   # an upgrade replaces everything but IT's config.yaml
New-Item -ItemType Directory -Force $InstallDir, $DataDir | Out-Null
Copy-Item -Recurse -Force (Join-Path $Payload "*") $InstallDir
Copy-Item -Force (Join-Path $PSScriptRoot "access-probe-task.xml") $InstallDir
Copy-Item -Force $Template (Join-Path $DataDir "config.sample.yaml")

if (-not $NoHeadless) {
    # The task definition names C:\Program Files\access-probe\access-probe.exe; follow
    # $env:ProgramFiles if Windows lives elsewhere.
    $xml = (Get-Content -Raw (Join-Path $InstallDir "access-probe-task.xml")).Replace(
        "C:\Program Files\access-probe", $InstallDir)
    Register-ScheduledTask -TaskName $TaskName -Xml $xml -Force | Out-Null
    Start-ScheduledTask -TaskName $TaskName
}
if (-not $NoTray) {
    New-ItemProperty -Path $RunKey -Name "access-probe" -PropertyType String -Force `
        -Value "`"$InstallDir\access-probe-tray.exe`" tray" | Out-Null
}
Write-Output "access-probe installed in $InstallDir; configuration: $DataDir\config.yaml"
