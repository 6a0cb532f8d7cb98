use regpilot_control::{Actor, NewProject, Plan};
use serde_json::{json, Value};

use super::remote::encode;
use super::target::{items, or, text, value, Target};
use crate::args::{PlanArgs, ProjectCommand};
use crate::output::{emit, table};
use crate::CmdResult;

fn limits_text(p: &Value) -> String {
    format!("{}/day, burst {}/s", or(p, "daily_limit", "unlimited"), text(p, "burst"))
}

fn plan_of(args: &PlanArgs) -> Result<Plan, regpilot_control::ControlError> {
    args.plan.parse()
}

pub async fn run(target: &Target, cmd: ProjectCommand, json: bool) -> CmdResult {
    match cmd {
        ProjectCommand::Create { name, plan } => {
            let p = match target {
                Target::Local(control) => {
                    let new =
                        NewProject { name, plan: plan_of(&plan)?, daily_limit: plan.daily_limit, burst: plan.burst };
                    value(control.create_project(&Actor::cli(), new).await?)?
                }
                Target::Remote(api) => {
                    let body = json!({"name": name, "plan": plan_of(&plan)?.as_str(),
                        "daily_limit": plan.daily_limit, "burst": plan.burst});
                    api.post("/api/admin/projects", body).await?
                }
            };
            emit(json, &p, || {
                format!(
                    "Created project {} ({}) on the {} plan: {}\n",
                    text(&p, "id"),
                    text(&p, "name"),
                    text(&p, "plan"),
                    limits_text(&p)
                )
            })
        }
        ProjectCommand::List => {
            let out = match target {
                Target::Local(control) => json!({ "projects": control.list_projects().await? }),
                Target::Remote(api) => api.list("/api/admin/projects", "projects").await?,
            };
            emit(json, &out, || {
                let rows: Vec<Vec<String>> = items(&out, "projects")
                    .iter()
                    .map(|p| {
                        vec![text(p, "id"), text(p, "name"), text(p, "plan"), limits_text(p), text(p, "created_at")]
                    })
                    .collect();
                table(&["ID", "NAME", "PLAN", "LIMITS", "CREATED"], &rows)
            })
        }
        ProjectCommand::SetGovernor {
            project_id,
            mode,
            enabled,
            disabled,
            check_prompts,
            no_check_prompts,
            violations,
        } => {
            let patch = regpilot_control::GovernorSettingsPatch {
                mode,
                enabled: (enabled || disabled).then_some(enabled),
                check_prompts: (check_prompts || no_check_prompts).then_some(check_prompts),
                violations,
            };
            let unchanged = patch.mode.is_none()
                && patch.enabled.is_none()
                && patch.check_prompts.is_none()
                && patch.violations.is_none();
            let Target::Local(control) = target else {
                return Err(crate::output::Failure::usage(super::GOVERNOR_LOCAL_ONLY));
            };
            let g = if unchanged {
                control.governor_settings(&project_id).await?
            } else {
                control.set_governor(&Actor::cli(), &project_id, patch).await?
            };
            emit(json, &g, || super::governor::settings_text(&g))
        }
        ProjectCommand::SetPlan { project_id, plan, daily_limit, burst } => {
            let plan: Plan = plan.parse()?;
            let p = match target {
                Target::Local(control) => {
                    value(control.set_plan(&Actor::cli(), &project_id, plan, daily_limit, burst).await?)?
                }
                Target::Remote(api) => {
                    let body = json!({"plan": plan.as_str(), "daily_limit": daily_limit, "burst": burst});
                    api.post(&format!("/api/admin/projects/{}/plan", encode(&project_id)), body).await?
                }
            };
            emit(json, &p, || {
                format!("Project {} is now on the {} plan: {}\n", text(&p, "id"), text(&p, "plan"), limits_text(&p))
            })
        }
    }
}
